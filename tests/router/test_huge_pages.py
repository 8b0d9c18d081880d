from router.huge_pages import (
    SETTING,
    environment_with_huge_pages,
    has_the_tunable,
    huge_pages_on,
    started_as_twoline,
)

GLIBC = ("glibc", "2.36")


def test_the_tunable_is_added_once_and_kept_beside_others():
    added = environment_with_huge_pages({"PATH": "/bin"}, libc=GLIBC)
    assert added == {"PATH": "/bin", "GLIBC_TUNABLES": SETTING}
    assert environment_with_huge_pages(added, libc=GLIBC) is None  # the restarted process changes nothing
    assert huge_pages_on(added) and not huge_pages_on({"PATH": "/bin"})
    beside = environment_with_huge_pages({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, libc=GLIBC)
    assert beside["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{SETTING}"


def test_an_operators_own_value_and_the_switch_are_respected():
    assert environment_with_huge_pages({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}, libc=GLIBC) is None
    assert environment_with_huge_pages({}, wanted=False, libc=GLIBC) is None


def test_only_a_glibc_with_the_tunable_gets_it():
    assert has_the_tunable(("glibc", "2.35")) == has_the_tunable(GLIBC)
    assert not has_the_tunable(("glibc", "2.31"))
    assert not has_the_tunable(("", ""))  # musl, or not found
    assert not has_the_tunable(("glibc", "unknown"))
    assert environment_with_huge_pages({}, libc=("glibc", "2.28")) is None


def test_a_program_that_calls_the_cli_in_process_is_never_replaced():
    assert not started_as_twoline()  # pytest's process
