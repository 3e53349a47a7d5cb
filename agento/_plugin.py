"""`AgentoPlugin`: agento as a Temporal plugin for clients, workers and replayers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import temporalio.converter
import temporalio.plugin
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.worker import WorkerConfig

from agento._validator import validate_activities


class AgentoPlugin(temporalio.plugin.SimplePlugin):
    """Governs a Temporal worker: refuses to build it while any activity breaks the rule set.

    Pass it to ``Client.connect(plugins=[...])`` (workers built from that client inherit it) or
    to ``Worker(plugins=[...])``. It also switches the payload converter to pydantic's, which
    `agento.PolicyInput` requests need, keeping any codec already configured (encryption, say).

    Args:
        ungoverned: Plain ``@activity.defn`` activities this worker may run without agento's
            governance. The opt-out is explicit so that it shows in review.
    """

    def __init__(self, *, ungoverned: Sequence[Callable[..., object]] = ()) -> None:
        super().__init__("agento.AgentoPlugin", data_converter=_with_pydantic_payloads)
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
