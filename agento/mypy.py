"""agento's mypy plugin: the rule set at type-check time.

Enable it with ``plugins = agento.mypy`` in mypy's configuration. It reports every rule of
`agento.rules` that can be known without running code, each under its rule id as the error
code, with the validator's message text:

- at each ``@agento.activity(...)`` declaration, the declaration and signature rules, decided by
  the same `agento.rules.check_declaration` the runtime validator calls;
- at each call that hands a governed activity to ``temporalio.workflow``'s activity functions,
  ``agento-bypass``; and to an agent framework's own tool wrapper (``activity_as_tool``,
  ``pydantic_ai.Tool``), ``agento-raw-tool``;
- at each ``agento.execute_activity`` or ``agento.start_activity`` call that gives a
  NON_IDEMPOTENT activity a literal ``RetryPolicy(...)`` allowing more than one attempt,
  ``agento-retry-unsafe``;
- at each of those calls whose arguments no overload could take (positional arguments after
  the request, a request and ``args=[...]``, another type than the activity's request),
  ``agento-bad-call`` in the run-time check's words, in place of mypy's list of overloads.

Declaration facts travel in types (``GovernedActivity[Literal[...], Literal[...], P, R]``), so
call-site checks work on modules loaded from mypy's incremental cache. This module imports mypy
and agento's standard-library-only rule set, never temporalio or agento's runtime.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from mypy.errorcodes import ErrorCode
from mypy.nodes import (
    ARG_NAMED,
    ARG_NAMED_OPT,
    ARG_POS,
    ARG_STAR,
    ARG_STAR2,
    CallExpr,
    ConditionalExpr,
    Context,
    Decorator,
    Expression,
    IntExpr,
    MemberExpr,
    NameExpr,
    RefExpr,
    StrExpr,
    TypeInfo,
)
from mypy.options import Options
from mypy.plugin import (
    CheckerPluginInterface,
    FunctionContext,
    FunctionSigContext,
    MethodContext,
    MethodSigContext,
    Plugin,
    ReportConfigContext,
)
from mypy.subtypes import is_subtype
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    LiteralType,
    NoneType,
    Parameters,
    Type,
    TypeOfAny,
    UnionType,
    get_proper_type,
)

from agento._postures import Idempotency, PolicyClass
from agento.rules import (
    BAD_CALL,
    BYPASS,
    RAW_TOOL,
    RETRY_UNSAFE,
    RULES,
    Checker,
    DeclarationFacts,
    Dynamic,
    Parameter,
    ParameterKind,
    Rule,
    Violation,
    check_declaration,
    extra_arguments,
    request_and_args,
    wrong_request,
)

__version__ = "3"
"""Part of mypy's cache key: bump it whenever the plugin's verdicts change."""

ERROR_CODES: dict[str, ErrorCode] = {
    r.id: ErrorCode(r.id, r.statement, "agento") for r in RULES if Checker.MYPY in r.checkers
}
"""One mypy error code per rule the plugin enforces, named by the rule id."""

_HOME = "agento._declaration.activity"
_FACTORY = f"{_HOME}.activity"
_GOVERNED_CALLS = frozenset(
    {"agento._workflow.execute.execute_activity", "agento._workflow.execute.start_activity"}
)
_GOVERNED = f"{_HOME}.GovernedActivity"
_KEY = f"{_HOME}.IdempotencyKey"
_POLICY_INPUT = f"{_HOME}.PolicyInput"
# The decorator shapes agento.activity's overloads return, by (takes a key, is policy-gated).
_SHAPES = {
    (False, False): f"{_HOME}._Plain",
    (True, False): f"{_HOME}._WithKey",
    (False, True): f"{_HOME}._Gated",
    (True, True): f"{_HOME}._GatedWithKey",
}
_SHAPE_CALLS = {f"{shape}.__call__" for shape in _SHAPES.values()}
_RAW_CALLS = frozenset(
    {"execute_activity", "start_activity", "execute_local_activity", "start_local_activity"}
)


_TOOL_WRAPPERS = {
    "temporalio.openai_agents.workflow.activity_as_tool": (
        "activity_as_tool(...)",
        "agento.agents.openai.governed_tool",
    ),
    "pydantic_ai.tools.Tool": ("pydantic_ai.Tool(...)", "agento.agents.pydantic_ai.governed_tool"),
}
"""Agent frameworks' own ways to make an activity or function a tool -> (the call as shown,
agento's adapter to use instead)."""


def _is_raw_call(fullname: str) -> bool:
    """``temporalio.workflow``'s activity functions, wherever in that package they are defined."""
    module, _, name = fullname.rpartition(".")
    return name in _RAW_CALLS and (module + ".").startswith("temporalio.workflow.")


_E = TypeVar("_E", Idempotency, PolicyClass)


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point."""
    return AgentoMypyPlugin


class AgentoMypyPlugin(Plugin):
    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.reported: set[tuple[str, int, int]] = set()
        """Calls already reported as agento-bad-call: mypy asks once per overload."""

    def instance(self, fullname: str, args: list[Type]) -> Instance:
        """``fullname[args]``, looked up in every loaded module (not only the current one's
        imports, which need not include agento's private modules)."""
        symbol = self.lookup_fully_qualified(fullname)
        assert symbol is not None, fullname
        assert isinstance(symbol.node, TypeInfo), fullname
        return Instance(symbol.node, args)

    def report_config_data(self, ctx: ReportConfigContext) -> str:
        return __version__

    def get_function_signature_hook(
        self, fullname: str
    ) -> Callable[[FunctionSigContext], FunctionLike] | None:
        if fullname == _FACTORY:
            return _accept_any_declaration
        if _is_raw_call(fullname) or fullname in _TOOL_WRAPPERS:
            return _accept_governed_activity
        if fullname in _GOVERNED_CALLS:
            return functools.partial(_check_call_shape, self.reported)
        return None

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        if fullname == _FACTORY:
            return functools.partial(_decorator_shape, self)
        if _is_raw_call(fullname):
            return functools.partial(_report_bypass, fullname.rpartition(".")[2])
        if fullname in _TOOL_WRAPPERS:
            return functools.partial(_report_raw_tool, *_TOOL_WRAPPERS[fullname])
        if fullname in _GOVERNED_CALLS:
            return _check_retry_policy
        return None

    def get_method_signature_hook(
        self, fullname: str
    ) -> Callable[[MethodSigContext], FunctionLike] | None:
        return _accept_any_function if fullname in _SHAPE_CALLS else None

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        return functools.partial(_check_declaration, self) if fullname in _SHAPE_CALLS else None


# --- @agento.activity(...): the factory call -----------------------------------------------


def _accept_any_declaration(ctx: FunctionSigContext) -> FunctionLike:
    """Let every overload accept any declaration values: the rules report what is wrong."""
    api = ctx.api
    str_type = api.named_generic_type("builtins.str", [])
    optional_str = UnionType([str_type, NoneType()])
    anything = api.named_generic_type("builtins.object", [])
    return ctx.default_signature.copy_modified(
        arg_types=[anything, anything, str_type, optional_str, optional_str],
        arg_kinds=[ARG_NAMED, ARG_NAMED, ARG_NAMED, ARG_NAMED_OPT, ARG_NAMED_OPT],
        arg_names=["idempotency", "policy_class", "version", "policy", "name"],
    )


def _decorator_shape(plugin: AgentoMypyPlugin, ctx: FunctionContext) -> Type:
    """The decorator type the overloads would pick, with the declared members as type args."""
    args = _named_arguments(ctx.callee_arg_names, ctx.args)
    idempotency = _enum_literal(args.get("idempotency"), ctx.api)
    policy_class = _enum_literal(args.get("policy_class"), ctx.api)
    takes_key = _member_name(idempotency) in ("KEYED", "NON_IDEMPOTENT")
    gated = _member_name(policy_class) == "SIDE_EFFECT" or not _is_none(args.get("policy"))
    return plugin.instance(_SHAPES[takes_key, gated], [idempotency, policy_class])


# --- the decorator applied to the function ---------------------------------------------------


def _accept_any_function(ctx: MethodSigContext) -> FunctionLike:
    any_type = AnyType(TypeOfAny.special_form)
    fn_type = CallableType(
        [any_type, any_type],
        [ARG_STAR, ARG_STAR2],
        [None, None],
        any_type,
        ctx.api.named_generic_type("builtins.function", []),
    )
    return ctx.default_signature.copy_modified(
        arg_types=[fn_type], arg_kinds=[ARG_POS], arg_names=[None], variables=[]
    )


def _check_declaration(plugin: AgentoMypyPlugin, ctx: MethodContext) -> Type:
    """Report the rules the declaration breaks; type the result as a GovernedActivity."""
    fn = get_proper_type(ctx.arg_types[0][0]) if ctx.arg_types and ctx.arg_types[0] else None
    shape = ctx.type
    factory = _factory_call(ctx.context)
    if not isinstance(fn, CallableType) or not isinstance(shape, Instance) or factory is None:
        return ctx.default_return_type

    args = _named_arguments(list(factory.arg_names), [[a] for a in factory.args])
    parameters = tuple(
        Parameter(name or f"#{i}", _parameter_kind(t))
        for i, (name, t) in enumerate(zip(fn.arg_names, fn.arg_types, strict=True))
    )
    result = get_proper_type(fn.ret_type)
    is_async = isinstance(result, Instance) and result.type.fullname == "typing.Coroutine"
    name = args.get("name")
    facts = DeclarationFacts(
        activity=name.value if isinstance(name, StrExpr) else (fn.name or "<activity>"),
        idempotency=_enum_fact(args.get("idempotency"), Idempotency, ctx.api),
        policy_class=_enum_fact(args.get("policy_class"), PolicyClass, ctx.api),
        policy=_string_fact(args.get("policy")),
        version=_string_fact(args.get("version")),
        parameters=parameters,
    )
    for violation in check_declaration(facts):
        _fail(ctx.api, violation.rule, str(violation), factory)

    keyed = bool(parameters) and parameters[0].kind is ParameterKind.KEY
    skip = 1 if keyed else 0
    returns = result.args[2] if is_async and isinstance(result, Instance) else fn.ret_type
    signature = Parameters(fn.arg_types[skip:], fn.arg_kinds[skip:], fn.arg_names[skip:])
    return plugin.instance(_GOVERNED, [*shape.args, signature, returns])


def _factory_call(context: Context) -> CallExpr | None:
    """The ``agento.activity(...)`` call whose result is being applied."""
    candidates: list[Expression] = []
    if isinstance(context, Decorator):
        candidates = list(context.original_decorators)
    elif isinstance(context, CallExpr):
        candidates = [context.callee]
    for expr in candidates:
        if (
            isinstance(expr, CallExpr)
            and isinstance(expr.callee, RefExpr)
            and expr.callee.fullname == _FACTORY
        ):
            return expr
    return None


def _parameter_kind(t: Type) -> ParameterKind:
    proper = get_proper_type(t)
    if isinstance(proper, Instance):
        if proper.type.fullname == _KEY:
            return ParameterKind.KEY
        if proper.type.has_base(_POLICY_INPUT):
            return ParameterKind.REQUEST
    return ParameterKind.OTHER


# --- raw temporalio.workflow calls -----------------------------------------------------------


def _accept_governed_activity(ctx: FunctionSigContext) -> FunctionLike:
    """Keep mypy's overload error out of the way when the activity is governed."""
    if not _first_argument_is_governed(ctx.args, ctx.api):
        return ctx.default_signature
    return _accepting_anything(ctx.default_signature)


def _accepting_anything(signature: CallableType) -> CallableType:
    any_type = AnyType(TypeOfAny.from_error)
    return signature.copy_modified(
        arg_types=[any_type, any_type, any_type],
        arg_kinds=[ARG_POS, ARG_STAR, ARG_STAR2],
        arg_names=["activity", None, None],
        ret_type=any_type,
        variables=[],
    )


def _report_bypass(function: str, ctx: FunctionContext) -> Type:
    if not _first_argument_is_governed(ctx.args, ctx.api):
        return ctx.default_return_type
    expr = ctx.args[0][0]
    activity = expr.name if isinstance(expr, (NameExpr, MemberExpr)) else "<activity>"
    message = str(BYPASS.violation(activity, call=f"workflow.{function}(...)"))
    _fail(ctx.api, BYPASS, message, ctx.context)
    return AnyType(TypeOfAny.from_error)


def _report_raw_tool(call: str, adapter: str, ctx: FunctionContext) -> Type:
    if not _first_argument_is_governed(ctx.args, ctx.api):
        return ctx.default_return_type
    expr = ctx.args[0][0]
    activity = expr.name if isinstance(expr, (NameExpr, MemberExpr)) else "<activity>"
    _fail(
        ctx.api,
        RAW_TOOL,
        str(RAW_TOOL.violation(activity, call=call, adapter=adapter)),
        ctx.context,
    )
    return AnyType(TypeOfAny.from_error)


def _first_argument_is_governed(args: list[list[Expression]], api: CheckerPluginInterface) -> bool:
    if not args or not args[0]:
        return False
    t = get_proper_type(api.get_expression_type(args[0][0]))
    return isinstance(t, Instance) and t.type.fullname == _GOVERNED


# --- agento.execute_activity ------------------------------------------------------------------


def _check_call_shape(reported: set[tuple[str, int, int]], ctx: FunctionSigContext) -> FunctionLike:
    """agento-bad-call: a call whose arguments no overload takes, said plainly, once."""
    call = ctx.context
    if not isinstance(call, CallExpr):
        return ctx.default_signature
    violation = _bad_call(call, ctx.api)
    if violation is None:
        return ctx.default_signature
    where = (ctx.api.path, call.line, call.column)
    if where not in reported:
        reported.add(where)
        _fail(ctx.api, BAD_CALL, str(violation), call)
    return _accepting_anything(ctx.default_signature)


def _bad_call(call: CallExpr, api: CheckerPluginInterface) -> Violation | None:
    positional = [a for a, k in zip(call.args, call.arg_kinds, strict=True) if k == ARG_POS]
    activity = get_proper_type(api.get_expression_type(positional[0])) if positional else None
    if not isinstance(activity, Instance) or activity.type.fullname != _GOVERNED:
        return None
    name = positional[0].name if isinstance(positional[0], (NameExpr, MemberExpr)) else "?"
    request = _request_model(activity.args[2])
    if len(positional) > 2:
        takes_key = _member_name(activity.args[0]) in ("KEYED", "NON_IDEMPOTENT")
        model = request.type.name if request else None
        return extra_arguments(name, len(positional) - 1, model, takes_key)
    if len(positional) == 2 and "args" in call.arg_names:
        return request_and_args(name)
    if len(positional) == 2 and request is not None:
        given = get_proper_type(api.get_expression_type(positional[1]))
        if not is_subtype(given, request):
            shown = given.type.name if isinstance(given, Instance) else str(given)
            return wrong_request(name, shown, request.type.name)
    return None


def _request_model(parameters: Type) -> Instance | None:
    """The PolicyInput model a governed activity takes (its one caller-supplied parameter)."""
    p = get_proper_type(parameters)
    if not isinstance(p, Parameters) or len(p.arg_types) != 1:
        return None
    t = get_proper_type(p.arg_types[0])
    return t if isinstance(t, Instance) and t.type.has_base(_POLICY_INPUT) else None


def _check_retry_policy(ctx: FunctionContext) -> Type:
    """agento-retry-unsafe: a NON_IDEMPOTENT activity given a retry policy that retries."""
    args = _named_arguments(ctx.callee_arg_names, ctx.args)
    activity = get_proper_type(ctx.arg_types[0][0]) if ctx.arg_types and ctx.arg_types[0] else None
    policy = args.get("retry_policy")
    if (
        not isinstance(activity, Instance)
        or activity.type.fullname != _GOVERNED
        or _member_name(activity.args[0]) != "NON_IDEMPOTENT"
        or not isinstance(policy, CallExpr)
        or not isinstance(policy.callee, RefExpr)
        or policy.callee.fullname != "temporalio.common.RetryPolicy"
    ):
        return ctx.default_return_type
    attempts_expr = dict(zip(policy.arg_names, policy.args, strict=True)).get("maximum_attempts")
    if attempts_expr is None:
        attempts = 0  # RetryPolicy's default: unlimited
    elif isinstance(attempts_expr, IntExpr):
        attempts = attempts_expr.value
    else:
        return ctx.default_return_type  # not knowable here; the runtime check still applies
    if attempts != 1:
        expr = ctx.args[0][0]
        name = expr.name if isinstance(expr, (NameExpr, MemberExpr)) else "<activity>"
        described = "unlimited attempts" if attempts == 0 else f"{attempts} attempts"
        violation = RETRY_UNSAFE.violation(name, attempts=described)
        _fail(ctx.api, RETRY_UNSAFE, str(violation), policy)
    return ctx.default_return_type


# --- reading declaration values --------------------------------------------------------------


def _named_arguments(
    names: list[str | None], args: list[list[Expression]]
) -> dict[str, Expression]:
    return {n: a[0] for n, a in zip(names, args, strict=False) if n is not None and a}


def _enum_literal(expr: Expression | None, api: CheckerPluginInterface) -> Type:
    """``Literal[Enum.MEMBER]`` for a literal member expression, else the enum type itself."""
    if expr is None:
        return AnyType(TypeOfAny.special_form)
    t = get_proper_type(api.get_expression_type(expr))
    if isinstance(expr, MemberExpr) and isinstance(t, Instance) and t.last_known_value:
        return t.last_known_value
    if isinstance(expr, MemberExpr) and isinstance(t, LiteralType):
        return t
    return t if isinstance(t, Instance) and t.type.is_enum else AnyType(TypeOfAny.special_form)


def _member_name(t: Type) -> str | None:
    proper = get_proper_type(t)
    return (
        proper.value if isinstance(proper, LiteralType) and isinstance(proper.value, str) else None
    )


def _enum_fact(
    expr: Expression | None, enum: type[_E], api: CheckerPluginInterface
) -> _E | Dynamic:
    """The declared member, or what was written instead of a literal member."""
    t = get_proper_type(_enum_literal(expr, api))
    if (
        isinstance(t, LiteralType)
        and isinstance(t.value, str)
        and t.fallback.type.fullname == f"agento._postures.{enum.__name__}"
    ):
        return enum[t.value]
    return Dynamic(_describe(expr))


def _string_fact(expr: Expression | None) -> str | Dynamic | None:
    if expr is None or _is_none(expr):
        return None
    return expr.value if isinstance(expr, StrExpr) else Dynamic(_describe(expr))


def _is_none(expr: Expression | None) -> bool:
    return expr is None or (isinstance(expr, NameExpr) and expr.fullname == "builtins.None")


def _describe(expr: Expression | None) -> str:
    """How a non-literal declaration value reads in a message."""
    if isinstance(expr, StrExpr):
        return repr(expr.value)
    if isinstance(expr, NameExpr):
        return f'the variable "{expr.name}"'
    if isinstance(expr, MemberExpr):
        return f'the attribute "{expr.name}"'
    if isinstance(expr, CallExpr):
        return "a function call"
    if isinstance(expr, ConditionalExpr):
        return "a conditional expression"
    return "an expression"


def _fail(api: CheckerPluginInterface, rule: Rule, message: str, context: Context) -> None:
    api.fail(message, context, code=ERROR_CODES[rule.id])
