"""Login penalties (domain/login_throttle.py): when failures earn tickets, how p-time grows, what a
ticket admits, and that the state stays bounded."""

from __future__ import annotations

from autoliq.domain.login_throttle import LoginPolicy, LoginThrottle
from autoliq.domain.sandbox import PenaltyTicket

T0 = 1000.0


def fail(throttle: LoginThrottle, times: int, name: str = "admin", address: str = "10.0.0.1") -> None:
    for _ in range(times):
        assert throttle.admit(name, address, None, T0) is None
        throttle.failed(name, address, T0)


def test_throttle_when_five_failures_of_a_name_then_sixth_login_gets_15_s_ticket_from_any_address() -> None:
    throttle = LoginThrottle()
    for i in range(5):  # five addresses: only the name links them
        fail(throttle, 1, address=f"10.0.0.{i}")

    penalty = throttle.admit("admin", "10.9.9.9", None, T0)

    assert isinstance(penalty, PenaltyTicket)
    assert (penalty.p_time, penalty.p_captcha) == (15, False)
    assert throttle.admit("trader", "10.9.9.9", None, T0) is None  # other names are not held back


def test_throttle_when_ten_failures_from_an_address_then_every_name_from_it_gets_a_ticket() -> None:
    throttle = LoginThrottle()
    for i in range(10):
        fail(throttle, 1, name=f"user{i}", address="10.0.0.7")

    assert isinstance(throttle.admit("someone-new", "10.0.0.7", None, T0), PenaltyTicket)
    assert throttle.admit("someone-new", "10.0.0.8", None, T0) is None


def test_throttle_when_failures_go_on_with_valid_tickets_then_p_time_doubles_up_to_an_hour() -> None:
    throttle = LoginThrottle()
    fail(throttle, 5)
    now = T0
    p_times = []
    for _ in range(10):
        ticket = throttle.admit("admin", "10.0.0.1", None, now)
        assert isinstance(ticket, PenaltyTicket)
        p_times.append(ticket.p_time)
        now += ticket.p_time
        assert throttle.admit("admin", "10.0.0.1", ticket.ticket, now) is None  # checked, and wrong:
        throttle.failed("admin", "10.0.0.1", now)

    assert p_times == [15, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_throttle_when_refused_without_ticket_many_times_then_p_time_does_not_grow() -> None:
    throttle = LoginThrottle()
    fail(throttle, 5)

    tickets = [throttle.admit("admin", "10.0.0.1", None, T0) for _ in range(50)]

    assert {t.p_time for t in tickets if t is not None} == {15}


def test_throttle_when_ticket_sent_early_then_refused_with_a_new_ticket_and_the_old_one_spent() -> None:
    throttle = LoginThrottle()
    fail(throttle, 5)
    first = throttle.admit("admin", "10.0.0.1", None, T0)
    assert first is not None

    early = throttle.admit("admin", "10.0.0.1", first.ticket, T0 + 14)
    reused = throttle.admit("admin", "10.0.0.1", first.ticket, T0 + 20)

    assert isinstance(early, PenaltyTicket) and early.ticket != first.ticket
    assert isinstance(reused, PenaltyTicket)  # spent by the early try
    assert throttle.admit("admin", "10.0.0.1", early.ticket, T0 + 14 + 15) is None


def test_throttle_when_ticket_used_for_another_name_or_address_then_refused() -> None:
    throttle = LoginThrottle()
    fail(throttle, 5, name="admin", address="10.0.0.1")
    fail(throttle, 5, name="trader", address="10.0.0.2")
    ticket = throttle.admit("admin", "10.0.0.1", None, T0)
    assert ticket is not None

    assert isinstance(throttle.admit("trader", "10.0.0.1", ticket.ticket, T0 + 15), PenaltyTicket)
    ticket = throttle.admit("admin", "10.0.0.1", None, T0)
    assert ticket is not None
    assert isinstance(throttle.admit("admin", "10.0.0.2", ticket.ticket, T0 + 15), PenaltyTicket)


def test_throttle_when_ticket_past_its_lifetime_then_refused() -> None:
    throttle = LoginThrottle(LoginPolicy(ticket_lifetime=60))
    fail(throttle, 5)
    ticket = throttle.admit("admin", "10.0.0.1", None, T0)
    assert ticket is not None

    assert isinstance(throttle.admit("admin", "10.0.0.1", ticket.ticket, T0 + 15 + 60), PenaltyTicket)


def test_throttle_when_success_then_name_forgiven_but_not_address() -> None:
    throttle = LoginThrottle()
    fail(throttle, 4, name="admin", address="10.0.0.1")
    for i in range(6):
        fail(throttle, 1, name=f"other{i}", address="10.0.0.1")  # the address has its ten

    assert throttle.admit("admin", "10.0.0.3", None, T0) is None
    throttle.succeeded("admin", "10.0.0.3")

    assert throttle.admit("admin", "10.0.0.2", None, T0) is None
    assert isinstance(throttle.admit("admin", "10.0.0.1", None, T0), PenaltyTicket)


def test_throttle_when_quiet_for_the_window_then_failures_forgotten() -> None:
    throttle = LoginThrottle(LoginPolicy(window=600))
    fail(throttle, 5)

    assert isinstance(throttle.admit("admin", "10.0.0.1", None, T0 + 600), PenaltyTicket)
    assert throttle.admit("admin", "10.0.0.1", None, T0 + 15 + 600) is None  # window after the p-time


def test_throttle_when_20000_names_and_addresses_tried_then_state_stays_within_its_bounds() -> None:
    throttle = LoginThrottle(LoginPolicy(max_keys=1000, max_tickets=500))
    for i in range(20_000):
        name, address = f"user{i}", f"10.{i % 250}.{i // 250 % 250}.1"
        assert throttle.admit(name, address, None, T0 + i) is None
        if i % 2:
            throttle.failed(name, address, T0 + i)
        else:
            throttle.busy(name, address, T0 + i)

    keys, tickets = throttle.size
    assert keys <= 1000 and tickets <= 500
    # Still counting: the least recently used entries went, not the new ones.
    later = T0 + 20_000
    for _ in range(10):
        throttle.failed("x", "10.99.99.99", later)
    assert isinstance(throttle.admit("y", "10.99.99.99", None, later), PenaltyTicket)


def test_throttle_when_swept_after_the_window_then_empty() -> None:
    throttle = LoginThrottle(LoginPolicy(window=60, ticket_lifetime=10))
    fail(throttle, 5)
    throttle.admit("admin", "10.0.0.1", None, T0)
    assert throttle.size == (2, 1)

    throttle.sweep(T0 + 15 + 60)

    assert throttle.size == (0, 0)


def test_throttle_when_a_burst_of_guesses_is_admitted_at_once_then_only_the_free_ones_pass() -> None:
    """Attempts still being hashed count as failures: a burst cannot all pass before the first
    failure is recorded."""
    throttle = LoginThrottle()

    verdicts = [throttle.admit("admin", f"10.0.0.{i}", None, T0) for i in range(8)]

    assert verdicts[:5] == [None] * 5 and all(isinstance(v, PenaltyTicket) for v in verdicts[5:])


def test_throttle_when_admitted_attempts_succeed_or_find_the_pool_busy_then_not_counted() -> None:
    throttle = LoginThrottle()
    for i in range(20):
        assert throttle.admit(f"user{i}", "10.0.0.1", None, T0) is None
        if i % 2:
            throttle.succeeded(f"user{i}", "10.0.0.1")
        else:
            throttle.busy(f"user{i}", "10.0.0.1", T0)

    assert throttle.admit("admin", "10.0.0.1", None, T0) is None
    assert throttle.size[0] == 2  # only the last attempt's entries, still pending


def test_throttle_when_admitted_attempts_end_in_an_error_then_they_do_not_count() -> None:
    throttle = LoginThrottle()
    for _ in range(8):
        assert throttle.admit("admin", "10.0.0.1", None, T0) is None
        throttle.abandoned("admin", "10.0.0.1")

    assert throttle.admit("admin", "10.0.0.1", None, T0) is None
