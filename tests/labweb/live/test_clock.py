"""A rig's clock offset is measured from its statuses without the dashboard's own delays in it."""

from labweb.live.clock import WINDOW_SECONDS, ClockOffset


def test_a_busy_dashboard_does_not_make_a_clock_look_wrong():
    # The rig's clock is 3 s behind; its statuses reach the board 10 ms to 8 s late (a thousand agents reconnect).
    clock = ClockOffset()
    start = 1_000_000.0
    for n, delay in enumerate([7.9, 6.2, 0.01, 4.4, 8.0, 2.5]):
        sent = start + n * 0.5 - 3.0
        clock.sample(sent + 3.0 + delay, sent)
    assert clock.seconds is not None and abs(clock.seconds - 3.01) < 1e-6


def test_a_clock_set_anew_is_seen_within_a_minute():
    clock = ClockOffset()
    now = 1_000_000.0
    clock.sample(now, now)  # on time
    step = 0.5
    t = now
    while t < now + 2 * WINDOW_SECONDS + step:  # then the rig's clock is set 10 s ahead
        t += step
        clock.sample(t, t + 10.0)
    assert abs(clock.seconds + 10.0) < 1e-6


def test_no_offset_before_any_status():
    assert ClockOffset().seconds is None
