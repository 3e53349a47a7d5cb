"""`AgentoPlugin`: agento as a Temporal plugin for clients, workers and replayers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import temporalio.converter
import temporalio.plugin
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.worker import WorkerConfig

from agento._declaration import GovernedActivity, as_temporal_activities
from agento._validator import validate_activities


class AgentoPlugin(temporalio.plugin.SimplePlugin):
    """Governs a Temporal client and the workers built from it.

    Give it to ``Client.connect(plugins=[...])``. Every worker built from that client then runs
    the rule set over all of its activities and raises `agento.MisdeclaredActivityError`, before
    any workflow runs, if one breaks it. The plugin also switches the payload converter to
    pydantic's, which `agento.PolicyInput` requests need, keeping any codec already configured
    (payload encryption, say).

    Args:
        activities: Governed activities to register on every worker built from the client. To
            give a single worker its own, use
            ``Worker(activities=agento.as_temporal_activities(...))``.
        ungoverned: Plain ``@activity.defn`` activities that a worker may run without agento's
            governance; the opt-out is explicit so that it shows in review.
    """

    def __init__(
        self,
        *,
        activities: Sequence[GovernedActivity[Any, Any, ..., Any]] = (),
        ungoverned: Sequence[Callable[..., object]] = (),
    ) -> None:
        super().__init__(
            "agento.AgentoPlugin",
            data_converter=_with_pydantic_payloads,
            activities=as_temporal_activities(*activities) or None,
        )
        self.ungoverned = tuple(ungoverned)

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        config = super().configure_worker(config)
        validate_activities(config.get("activities", ()), ungoverned=self.ungoverned)
        return config


def _with_pydantic_payloads(
    existing: temporalio.converter.DataConverter | None,
) -> temporalio.converter.DataConverter:
    base = existing or temporalio.converter.DataConverter.default
    if base.payload_converter_class is not temporalio.converter.DefaultPayloadConverter:
        return base  # a custom payload converter is the user's deliberate choice
    return dataclasses.replace(base, payload_converter_class=PydanticPayloadConverter)
