"""The commissioning example's routing policy and the cases it decides: each a document, whether
it is allowed, and the reasons given, for every engine and the command line to agree on."""

from __future__ import annotations

from pathlib import Path

from pydantic import JsonValue

BUNDLE = Path(__file__).parents[2] / "examples" / "commissioning" / "policy"
ROUTING = "agento/commissioning/routing"
SCHEDULE: JsonValue = {
    "frequency_hz": {"expected": 50.0, "tolerance": 0.05},
    "overvoltage_trip_v": {"expected": 253.0, "tolerance": 2.0},
}
IN_TOLERANCE: JsonValue = [
    {"parameter": "frequency_hz", "value": 50.02},
    {"parameter": "overvoltage_trip_v", "value": 252.0},
]
OUT_OF_TOLERANCE: JsonValue = [
    {"parameter": "frequency_hz", "value": 50.2},
    {"parameter": "overvoltage_trip_v", "value": 252.0},
]
PUNCH = "punch items still open"
TOLERANCE = "test result outside tolerance"


def document(open_items: list[str], results: JsonValue) -> dict[str, JsonValue]:
    return {
        "procore": {"punch_items_open_bess": list[JsonValue](open_items)},
        "test_results": results,
        "protection_settings_schedule": SCHEDULE,
    }


CASES = {
    "all closed and within tolerance": (document([], IN_TOLERANCE), True, ()),
    "open punch item": (document(["PI-104"], IN_TOLERANCE), False, (PUNCH,)),
    "out of tolerance": (document([], OUT_OF_TOLERANCE), False, (TOLERANCE,)),
    "both": (document(["PI-104"], OUT_OF_TOLERANCE), False, (PUNCH, TOLERANCE)),
    # `every` over no results holds: with nothing tested, nothing is out of tolerance.
    "empty test results": (document([], []), True, ()),
    # A parameter the schedule does not list has no spec, so `every` fails for it.
    "missing schedule entry": (
        document([], [{"parameter": "df_dt_hz_s", "value": 0.1}]),
        False,
        (TOLERANCE,),
    ),
}
