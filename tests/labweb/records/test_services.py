"""Record services nobody else tests: session numbers, subject names."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from labweb.fleet import services as fleet_services
from labweb.records import services
from labweb.records.models import Session, Subject

RACERS = 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_sessions_of_one_subject_and_day_get_distinct_consecutive_numbers(day):
    """Runs on SQLite by default and on PostgreSQL with LABWEB_TEST_SCALE=1 (real connections, real commits)."""
    subject = services.subject_create(name="KS051")
    start = threading.Barrier(RACERS)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def racer() -> None:
        try:
            connections["default"].ensure_connection()  # connect first, so the inserts themselves race
            start.wait(timeout=10)
            numbers.append(services.session_create(subject=subject, date=day).number)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()  # each thread has its own connection; leave none open for the flush

    threads = [threading.Thread(target=racer) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(numbers) == list(range(1, RACERS + 1))
    stored = Session.objects.filter(subject=subject, date=day).order_by("number")
    assert [s.exp_ref for s in stored] == [f"{day.isoformat()}_{n}_KS051" for n in range(1, RACERS + 1)]


@pytest.mark.django_db
def test_numbers_start_at_one_per_subject_and_day(day):
    ks, zm = services.subject_create(name="KS051"), services.subject_create(name="ZM_1")
    made = [
        services.session_create(subject=ks, date=day),
        services.session_create(subject=ks, date=day),
        services.session_create(subject=zm, date=day),
        services.session_create(subject=ks, date=day.replace(day=6)),
    ]
    assert [s.exp_ref for s in made] == [
        "2024-03-05_1_KS051", "2024-03-05_2_KS051", "2024-03-05_1_ZM_1", "2024-03-06_1_KS051"
    ]


@pytest.mark.django_db
def test_session_create_records_the_rigs_and_the_main_one(day):
    subject = services.subject_create(name="KS051")
    main, cam = fleet_services.rig_create(name="behavior-1")[0], fleet_services.rig_create(name="cam-left")[0]
    session = services.session_create(subject=subject, date=day, rigs=[main, cam], main_rig=main)
    assert {(p.rig.name, p.is_main) for p in session.participants.all()} == {("behavior-1", True), ("cam-left", False)}


@pytest.mark.django_db
def test_subject_create_refuses_a_dotted_name():
    with pytest.raises(ValidationError, match="contains a dot"):
        services.subject_create(name="KS.051")
    assert not Subject.objects.exists()
