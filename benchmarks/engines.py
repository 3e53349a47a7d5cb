"""The in-process Rego engines side by side on the differential corpus (tests/policy/corpus):
agreement with OPA v1.20.2's own evaluator, crashes, and per-decision latency.

- agento's embedded engine (regopy, rego-cpp), as agento loads and guards it;
- OPA's evaluator in process (opa-golib-python-bindings, the differential tests' oracle);
- regorus, through the one build of it on PyPI that is maintained (gordon-to-regorus, a fork:
  Microsoft publishes no Python package), when it is installed: it is not a dependency.

Each engine decides the same generated inputs (``--examples`` per policy, one fixed seed), and
what each answers is compared with OPA's: the allow, and the whole decision document.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from pydantic import JsonValue

from agento import EmbeddedEngine, PolicyBundle
from agento._decision.record import interpret
from tests.policy.differential import CORPUS, VALID, _same, inputs
from tests.policy.oracle import Oracle

Decide = Callable[[str, Mapping[str, JsonValue]], "tuple[JsonValue, str | None]"]


def _embedded(bundle: PolicyBundle) -> Decide:
    engine = EmbeddedEngine(bundle)

    def decide(policy: str, document: Mapping[str, JsonValue]) -> tuple[JsonValue, str | None]:
        d = engine.evaluate(policy, document)
        return d.result, None if d.result is not None else "; ".join(d.reasons)

    return decide


def _opa(bundle: PolicyBundle) -> Decide:
    oracle = Oracle(bundle)

    def decide(policy: str, document: Mapping[str, JsonValue]) -> tuple[JsonValue, str | None]:
        answer = oracle.decide(policy, document)
        return answer.value if answer.defined else None, answer.error

    return decide


def _regorus(bundle: PolicyBundle) -> Decide | None:
    try:  # not a dependency: imported by name, so type checkers need no stubs of it
        regorus: Any = importlib.import_module("regorus")
    except ImportError:
        return None
    engine = regorus.Engine()
    for name, source in bundle.modules.items():
        engine.add_policy(name, source)
    engine.add_data_json(json.dumps(dict(bundle.data)))

    def decide(policy: str, document: Mapping[str, JsonValue]) -> tuple[JsonValue, str | None]:
        engine.set_input_json(json.dumps(dict(document)))
        query = "data." + policy.replace("/", ".")
        try:  # a package is not a rule to regorus: asked as a query
            results = json.loads(engine.eval_query_as_json(query))["result"]
        except Exception as e:  # its errors are RuntimeErrors with a message
            return None, str(e).split("\n", 1)[0]
        return (results[0]["expressions"][0]["value"] if results else None), None

    return decide


def _collect(policy: str, examples: int, into: list[tuple[str, dict[str, JsonValue]]]) -> None:
    @settings(
        max_examples=examples,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(inputs(policy))
    def collect(document: dict[str, JsonValue]) -> None:
        into.append((policy, json.loads(json.dumps(document))))

    collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="inputs per policy")
    args = parser.parse_args()
    bundle = PolicyBundle.load(CORPUS)
    documents: list[tuple[str, dict[str, JsonValue]]] = []
    for policy in sorted(VALID):
        _collect(policy, args.examples, documents)
    oracle, opa = Oracle(bundle), _opa(bundle)
    # Left out, as in the differential tests: OPA's answer turns on a built-in error, which
    # its evaluator here reports (strict) where OPA's default makes it undefined.
    documents = [(p, d) for p, d in documents if not oracle.decide(p, d).strict_error]
    expected = [opa(policy, document) for policy, document in documents]
    engines = {"agento embedded (regopy)": _embedded(bundle), "OPA in process": opa}
    if (regorus := _regorus(bundle)) is not None:
        engines["regorus (gordon-to-regorus)"] = regorus
    print(f"{len(documents)} decisions on {len(VALID)} corpus policies")
    for name, decide in engines.items():
        same_allow = same_document = 0
        times = []
        for (policy, document), (value, error) in zip(documents, expected, strict=True):
            start = time.perf_counter()
            ours, our_error = decide(policy, document)
            times.append((time.perf_counter() - start) * 1000)
            theirs = interpret(value, error=error).allow
            same_allow += interpret(ours, error=our_error).allow == theirs
            same_document += (our_error is None) == (error is None) and _same(ours, value)
        n = len(documents)
        print(
            f"  {name}: allow agrees {same_allow / n:.1%} ({n - same_allow} differ), "
            f"whole document {same_document / n:.1%}, "
            f"decision p50 {statistics.median(times):.3f} ms"
        )


if __name__ == "__main__":
    main()
