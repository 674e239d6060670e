"""Temporal envelopes and bi-temporal records: validation, supersede chains, as-of queries at
the interval boundaries (half-open: ``[from, to)``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from engine import (
    BiTemporalHistory,
    BiTemporalRecord,
    Step,
    TemporalEnvelope,
    Workflow,
    WorkflowRunner,
)
from engine.records import as_of
from engine.serialization import to_json


def t(day: int, month: int = 11, hour: int = 0) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


# --------------------------------------------------------------------------- envelope
def test_envelope_is_a_plain_dataclass_whose_dict_is_its_four_times_and_payload() -> None:
    env = TemporalEnvelope(event_time=t(1), publish_time=t(2), ingest_time=t(3),
                           payload={"revenue": 391e9})
    assert env.__dict__ == {"event_time": t(1), "publish_time": t(2), "ingest_time": t(3),
                            "payload": {"revenue": 391e9}, "effective_time": None}
    assert env.publish_lag == timedelta(days=1)
    assert env.ingest_lag == timedelta(days=1)
    assert not env.known_at(t(2, hour=23)) and env.known_at(t(3))


def test_envelope_refuses_naive_times_and_ingesting_before_publication() -> None:
    with pytest.raises(ValueError, match="publish_time must be timezone-aware"):
        TemporalEnvelope(t(1), datetime(2025, 11, 2), t(3))
    with pytest.raises(TypeError, match="event_time must be a datetime"):
        TemporalEnvelope("2025-11-01", t(2), t(3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="before publish_time"):
        TemporalEnvelope(t(1), t(3), t(2))
    announced = TemporalEnvelope(event_time=t(30), publish_time=t(1), ingest_time=t(2))
    assert announced.publish_lag == -timedelta(days=29)  # an announced future event is fine


def test_envelope_round_trips_through_json_with_other_offsets() -> None:
    eastern = timezone(timedelta(hours=-5))
    env = TemporalEnvelope(datetime(2025, 11, 1, 9, tzinfo=eastern), t(2), t(3),
                           payload={"cik": "0000320193"}, effective_time=t(1))
    data = json.loads(to_json(env))  # a registered JSON type: allowed in step outputs
    assert data["event_time"] == "2025-11-01T09:00:00-05:00"
    assert TemporalEnvelope.from_dict(data) == env
    assert TemporalEnvelope.from_dict(env.__dict__) == env


# --------------------------------------------------------------------------- bi-temporal
def original() -> BiTemporalRecord:
    return BiTemporalRecord(valid_from=datetime(2025, 9, 30, tzinfo=UTC), valid_to=None,
                            system_from=t(15), system_to=None,
                            payload={"revenue": 391e9, "eps": 1.52}, version=1)


def test_supersede_closes_the_original_and_returns_the_next_version() -> None:
    first = original()
    amended = first.supersede(new_payload={"revenue": 394e9, "eps": 1.46},
                              system_time=t(1, month=12))
    assert first.system_to == t(1, month=12) and not first.is_current
    assert amended.version == 2 and amended.is_current
    assert (amended.valid_from, amended.valid_to) == (first.valid_from, first.valid_to)
    assert amended.system_from == first.system_to
    with pytest.raises(ValueError, match="version 1 was already superseded"):
        first.supersede({}, t(2, month=12))
    with pytest.raises(ValueError, match="must be after version 2's system_from"):
        amended.supersede({}, t(1, month=12))


def test_record_validation() -> None:
    with pytest.raises(ValueError, match="valid_to .* must be after valid_from"):
        BiTemporalRecord(t(2), t(2), t(1), None)
    with pytest.raises(ValueError, match="system_to .* must be after system_from"):
        BiTemporalRecord(t(1), None, t(3), t(2))
    with pytest.raises(ValueError, match="version must be a positive integer"):
        BiTemporalRecord(t(1), None, t(1), None, version=0)
    with pytest.raises(ValueError, match="system_from must be timezone-aware"):
        BiTemporalRecord(t(1), None, datetime(2025, 1, 1), None)


def test_as_of_at_the_boundaries_of_the_system_interval() -> None:
    first = original()
    second = first.supersede({"revenue": 394e9}, t(1, month=12))
    third = second.supersede({"revenue": 395e9}, t(10, month=12))
    versions = [first, second, third]
    assert as_of(versions, system_time=t(15) - timedelta(microseconds=1)) is None
    assert as_of(versions, system_time=t(15)) is first  # from is inclusive
    assert as_of(versions, system_time=t(20)) is first  # "what did we know on Nov 20?"
    assert as_of(versions, system_time=t(1, month=12)) is second  # to is exclusive
    assert as_of(versions, system_time=t(9, month=12, hour=23)) is second
    assert as_of(versions, system_time=t(10, month=12)) is third
    assert as_of(versions) is third  # now: the current version
    assert as_of(list(reversed(versions)), system_time=t(20)) is first  # order does not matter


def test_as_of_on_the_valid_axis() -> None:
    q3 = BiTemporalRecord(datetime(2025, 7, 1, tzinfo=UTC), datetime(2025, 10, 1, tzinfo=UTC),
                          t(1), None, {"q": 3})
    q4 = BiTemporalRecord(datetime(2025, 10, 1, tzinfo=UTC), None, t(2), None, {"q": 4})
    assert as_of([q3, q4], valid_time=datetime(2025, 9, 30, 23, tzinfo=UTC)) is q3
    assert as_of([q3, q4], valid_time=datetime(2025, 10, 1, tzinfo=UTC)) is q4
    assert as_of([q3, q4], valid_time=datetime(2025, 6, 30, tzinfo=UTC)) is None
    assert as_of([q3, q4]) is q4  # both current: the most recently recorded
    assert as_of([q3, q4], system_time=t(1, hour=12),
                 valid_time=datetime(2025, 11, 1, tzinfo=UTC)) is None  # q4 not yet known


def test_history_builds_a_chain_and_reports_what_each_version_changed() -> None:
    history = BiTemporalHistory("0000320193")
    with pytest.raises(ValueError, match="needs valid_from"):
        history.record({"revenue": 1.0}, t(1))
    history.record({"revenue": 391e9, "eps": 1.52}, t(15),
                   valid_from=datetime(2025, 9, 30, tzinfo=UTC))
    history.record({"revenue": 394e9, "eps": 1.52}, t(1, month=12))
    history.record({"revenue": 394e9, "eps": 1.46}, t(5, month=12))
    assert [v.version for v in history.versions] == [1, 2, 3]
    assert all(v.entity_key == "0000320193" for v in history.versions)
    assert history.as_of(system_time=t(3, month=12)).payload["revenue"] == 394e9  # type: ignore[union-attr]
    assert history.changes() == [
        {"version": 2, "system_time": "2025-12-01T00:00:00+00:00",
         "changed": {"revenue": {"from": 391e9, "to": 394e9}}},
        {"version": 3, "system_time": "2025-12-05T00:00:00+00:00",
         "changed": {"eps": {"from": 1.52, "to": 1.46}}},
    ]
    rebuilt = BiTemporalHistory("x", [BiTemporalRecord.from_dict(v)
                                      for v in json.loads(to_json(history))["versions"]])
    assert rebuilt.versions == history.versions
    with pytest.raises(ValueError, match="do not form a supersede chain"):
        BiTemporalHistory("x", [history.versions[0], history.versions[2]])


def test_records_are_step_outputs() -> None:
    def step() -> dict:
        first = original()
        return {"first": first, "second": first.supersede({"revenue": 394e9}, t(1, month=12))}

    result = WorkflowRunner().execute(Workflow("records.out", [Step.from_function("s", step)]))
    assert result.status.value == "completed", result.error
    out = json.loads(to_json(result.outputs["s"]))
    assert out["first"]["system_to"] == "2025-12-01T00:00:00+00:00"
    assert out["second"]["version"] == 2
