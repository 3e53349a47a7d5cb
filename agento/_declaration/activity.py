"""``@agento.activity``: an activity that says how it may be retried and what it touches.

The decorator records the declaration and registers a normal Temporal activity. It does not
judge the declaration, so that a mis-declared module still imports and the validator can report
*every* violation at once; it only refuses what it cannot record (a function already decorated
with ``@activity.defn``, annotations that do not resolve).
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    Literal,
    NewType,
    ParamSpec,
    Protocol,
    TypeAlias,
    TypeVar,
    cast,
    overload,
)

import pydantic
import temporalio.activity
import temporalio.exceptions

from agento._postures import Idempotency, PolicyClass
from agento.rules import RAW_TOOL, Parameter, ParameterKind

IdempotencyKey = NewType("IdempotencyKey", str)
"""Type of the first parameter of KEYED and NON_IDEMPOTENT activities; agento fills it."""


class PolicyInput(pydantic.BaseModel):
    """Base class of policy input contracts.

    A policy-gated activity takes exactly one parameter of a subclass: the policy decides on that
    request, and the activity then executes exactly it. Frozen, and strict about unknown fields,
    so that what was checked is what runs.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")


I = TypeVar("I", bound=Idempotency, covariant=True)  # noqa: E741 - mirrors the declaration field
C = TypeVar("C", bound=PolicyClass, covariant=True)
P = ParamSpec("P")
R = TypeVar("R", covariant=True)


@dataclass(frozen=True)
class ActivityDeclaration:
    """What ``@agento.activity`` recorded: read by the validator, the runtime and audit tools."""

    name: str
    """The Temporal activity name."""
    idempotency: Idempotency
    policy_class: PolicyClass
    policy: str | None
    """Rego package path (``agento/commissioning/routing``) whose decision gates each execution."""
    version: str
    """Recorded with every decision and execution."""
    fn: Callable[..., object]
    """The decorated function itself."""

    parameters: tuple[Parameter, ...]
    """The function's parameters, classified as key, PolicyInput request, or other."""

    @property
    def is_policy_gated(self) -> bool:
        """Whether a decision must precede each execution."""
        return self.policy_class is PolicyClass.SIDE_EFFECT or self.policy is not None

    @property
    def takes_key(self) -> bool:
        """Whether agento passes an `IdempotencyKey` first."""
        return bool(self.parameters) and self.parameters[0].kind is ParameterKind.KEY

    @property
    def request_model(self) -> type[PolicyInput] | None:
        """The `PolicyInput` subclass the activity takes, if it takes exactly one."""
        requests = [p.name for p in self.parameters if p.kind is ParameterKind.REQUEST]
        if len(requests) != 1:
            return None
        model: type[PolicyInput] = typing.get_type_hints(self.fn)[requests[0]]
        return model


def _parameters(fn: Callable[..., object]) -> tuple[Parameter, ...]:
    hints = typing.get_type_hints(fn)
    return tuple(Parameter(n, _kind(hints.get(n))) for n in inspect.signature(fn).parameters)


def _kind(annotation: object) -> ParameterKind:
    if annotation is IdempotencyKey:
        return ParameterKind.KEY
    if isinstance(annotation, type) and issubclass(annotation, PolicyInput):
        return ParameterKind.REQUEST
    return ParameterKind.OTHER


class GovernedActivity(Generic[I, C, P, R]):
    """An activity declared with ``@agento.activity``.

    Its type records the declaration (``I`` and ``C`` are ``Literal`` enum members), the
    parameters a caller supplies (``P``, the key excluded: agento fills it) and the result
    (``R``). Type checkers see no ``__call__``, so handing it to
    ``temporalio.workflow.execute_activity`` does not type-check: a governed activity is started
    through ``agento.execute_activity``, which asks the policy first. At runtime it stays a
    normal Temporal activity that a plain ``temporalio.worker.Worker`` can run.
    """

    declaration: ActivityDeclaration

    def __init__(self, declaration: ActivityDeclaration) -> None:
        self.declaration = declaration
        functools.update_wrapper(cast(Callable[..., object], self), declaration.fn)
        defn = getattr(declaration.fn, "__temporal_activity_definition")
        setattr(self, "__temporal_activity_definition", defn)

    if not TYPE_CHECKING:
        # async, so that Temporal's worker sees a coroutine function and runs it on the loop
        async def __call__(self, *args, **kwargs):
            _refuse_raw_call(self.declaration)
            return await self.declaration.fn(*args, **kwargs)

    def __repr__(self) -> str:
        d = self.declaration
        return (
            f"<GovernedActivity {d.name} {d.idempotency.name} {d.policy_class.name} "
            f"policy={d.policy!r} version={d.version!r}>"
        )


class _SyncGovernedActivity(GovernedActivity[I, C, P, R]):
    """A governed ``def`` activity: Temporal's worker runs it in its ``activity_executor``,
    after agento's grant check has run on the event loop, as for an async one."""

    if not TYPE_CHECKING:

        def __call__(self, *args, **kwargs):
            _refuse_raw_call(self.declaration)
            return self.declaration.fn(*args, **kwargs)


def _refuse_raw_call(d: ActivityDeclaration) -> None:
    """Refuse a call that is not Temporal running this very activity: from workflow code, or
    from inside another activity (an agent framework's tool wrapper, which would let a model
    run it with no decision). Outside Temporal (a unit test) it is a plain function."""
    workflow = sys.modules.get("temporalio.workflow")  # not imported: not in a workflow
    if workflow is not None and workflow.in_workflow():
        where = "a direct call from workflow code"
    elif (
        temporalio.activity.in_activity()
        and (other := temporalio.activity.info().activity_type) != d.name
    ):
        where = f'a direct call inside activity "{other}"'
    else:
        return
    violation = RAW_TOOL.violation(
        d.name, call=where, adapter="agento.agents.<framework>.governed_tool"
    )
    raise temporalio.exceptions.ApplicationError(
        f"{violation} [{RAW_TOOL.id}]", type=RAW_TOOL.id, non_retryable=True
    )


AnyActivity: TypeAlias = GovernedActivity[Any, Any, ..., Any]
"""Any governed activity, whatever its declaration and signature: the element type of a list
handed to a worker (``ACTIVITIES: list[agento.AnyActivity] = [route, lookup]``)."""

_In = TypeVar("_In", bound=PolicyInput)
_P = ParamSpec("_P")
_R = TypeVar("_R")
_I = TypeVar("_I", bound=Idempotency, covariant=True)
_C = TypeVar("_C", bound=PolicyClass, covariant=True)

_Idempotent: TypeAlias = Literal[Idempotency.IDEMPOTENT]
_Keyed: TypeAlias = Literal[Idempotency.KEYED]
_NonIdempotent: TypeAlias = Literal[Idempotency.NON_IDEMPOTENT]
_ReadOnly: TypeAlias = Literal[PolicyClass.READ_ONLY]
_SideEffect: TypeAlias = Literal[PolicyClass.SIDE_EFFECT]


# One decorator shape per combination of "takes a key" and "is policy-gated", so that plain
# typing (pyright included) already rejects a missing key or a missing request.
class _Plain(Protocol[_I, _C]):
    @overload
    def __call__(self, fn: Callable[_P, Awaitable[_R]], /) -> GovernedActivity[_I, _C, _P, _R]: ...
    @overload
    def __call__(self, fn: Callable[_P, _R], /) -> GovernedActivity[_I, _C, _P, _R]: ...


class _WithKey(Protocol[_I, _C]):
    @overload
    def __call__(
        self, fn: Callable[Concatenate[IdempotencyKey, _P], Awaitable[_R]], /
    ) -> GovernedActivity[_I, _C, _P, _R]: ...
    @overload
    def __call__(
        self, fn: Callable[Concatenate[IdempotencyKey, _P], _R], /
    ) -> GovernedActivity[_I, _C, _P, _R]: ...


class _Gated(Protocol[_I, _C]):
    @overload
    def __call__(
        self, fn: Callable[[_In], Awaitable[_R]], /
    ) -> GovernedActivity[_I, _C, [_In], _R]: ...
    @overload
    def __call__(self, fn: Callable[[_In], _R], /) -> GovernedActivity[_I, _C, [_In], _R]: ...


class _GatedWithKey(Protocol[_I, _C]):
    @overload
    def __call__(
        self, fn: Callable[[IdempotencyKey, _In], Awaitable[_R]], /
    ) -> GovernedActivity[_I, _C, [_In], _R]: ...
    @overload
    def __call__(
        self, fn: Callable[[IdempotencyKey, _In], _R], /
    ) -> GovernedActivity[_I, _C, [_In], _R]: ...


@overload
def activity(
    *,
    idempotency: _Idempotent,
    policy_class: _ReadOnly,
    version: str,
    policy: None = None,
    name: str | None = None,
) -> _Plain[_Idempotent, _ReadOnly]: ...
@overload
def activity(
    *,
    idempotency: _Idempotent,
    policy_class: _ReadOnly,
    version: str,
    policy: str,
    name: str | None = None,
) -> _Gated[_Idempotent, _ReadOnly]: ...
@overload
def activity(
    *,
    idempotency: _Keyed,
    policy_class: _ReadOnly,
    version: str,
    policy: None = None,
    name: str | None = None,
) -> _WithKey[_Keyed, _ReadOnly]: ...
@overload
def activity(
    *,
    idempotency: _Keyed,
    policy_class: _ReadOnly,
    version: str,
    policy: str,
    name: str | None = None,
) -> _GatedWithKey[_Keyed, _ReadOnly]: ...
@overload
def activity(
    *,
    idempotency: _Idempotent,
    policy_class: _SideEffect,
    version: str,
    policy: str,
    name: str | None = None,
) -> _Gated[_Idempotent, _SideEffect]: ...
@overload
def activity(
    *,
    idempotency: _Keyed,
    policy_class: _SideEffect,
    version: str,
    policy: str,
    name: str | None = None,
) -> _GatedWithKey[_Keyed, _SideEffect]: ...
@overload
def activity(
    *,
    idempotency: _NonIdempotent,
    policy_class: _SideEffect,
    version: str,
    policy: str,
    name: str | None = None,
) -> _GatedWithKey[_NonIdempotent, _SideEffect]: ...
def activity(
    *,
    idempotency: Idempotency,
    policy_class: PolicyClass,
    version: str,
    policy: str | None = None,
    name: str | None = None,
) -> Callable[[Callable[..., Any]], AnyActivity]:
    """Declare a governed activity.

    Args:
        idempotency: How safely it can run again; decides retries and the idempotency key.
        policy_class: Whether it has a side effect; a side effect needs an allow before each run.
        version: Semantic version, recorded with every decision and execution.
        policy: Rego package path whose decision gates each execution (required for
            ``SIDE_EFFECT``, optional for ``READ_ONLY``).
        name: Temporal activity name; the function's name by default.

    Only literal combinations the rule set allows type-check; the validator
    (``agento.validate_activities``) and the mypy plugin report the rest with rule ids.
    """

    def declare(fn: Callable[..., Any]) -> AnyActivity:
        activity_name = name or str(getattr(fn, "__name__", repr(fn)))
        if hasattr(fn, "__temporal_activity_definition"):
            raise TypeError(
                f'Activity "{activity_name}" is already decorated with @activity.defn; '
                "@agento.activity registers the Temporal activity itself: remove @activity.defn"
            )
        try:
            parameters = _parameters(fn)
        except NameError as e:
            raise TypeError(
                f'Activity "{activity_name}": cannot resolve its annotations ({e}); '
                "define the types it names before the activity"
            ) from e
        temporalio.activity.defn(name=activity_name)(fn)
        governed = GovernedActivity if inspect.iscoroutinefunction(fn) else _SyncGovernedActivity
        return governed(
            ActivityDeclaration(
                name=activity_name,
                idempotency=idempotency,
                policy_class=policy_class,
                policy=policy,
                version=version,
                fn=fn,
                parameters=parameters,
            )
        )

    return declare


def as_temporal_activities(
    *activities: AnyActivity,
) -> list[Callable[..., Any]]:
    """The governed activities as what ``Worker(activities=...)`` takes.

    Type checkers see a `GovernedActivity` as not callable, which keeps it out of raw
    ``workflow.execute_activity`` calls; at runtime it is a Temporal activity, so this only
    changes its static type.
    """
    return [cast(Callable[..., Any], a) for a in activities]


def declaration_of(activity: object) -> ActivityDeclaration | None:
    """The declaration of a governed activity; ``None`` for anything else."""
    return activity.declaration if isinstance(activity, GovernedActivity) else None
