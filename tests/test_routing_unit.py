"""The routing order (rooms.routing), pure: which rooms a moderator sees first, and why."""

from rooms.routing import Need, Profile, fit, order, primary_language, skills_of

GERMAN_PAYMENTS = Need("de", 2, ("payments",))
ENGLISH = Need("en", 1, ())
ENGLISH_DESIGN = Need("en", 1, ("design",))
QUEUE = [ENGLISH, ENGLISH_DESIGN, GERMAN_PAYMENTS]  # the queue's own order: German waits least

GERMAN_TIER2 = Profile("m-de", ("de", "en"), ("payments",), 2)
ENGLISH_TIER1 = Profile("m-en", ("en",), ("design",), 1)


def ranked(profile: Profile) -> list[Need]:
    return [room for room, _ in order(profile, QUEUE, lambda need: need)]


def test_a_german_tier_2_payments_room_comes_first_for_a_german_tier_2_payments_moderator() -> None:
    assert ranked(GERMAN_TIER2) == [GERMAN_PAYMENTS, ENGLISH, ENGLISH_DESIGN]
    found = fit(GERMAN_TIER2, GERMAN_PAYMENTS)
    assert found.match
    assert found.reasons == ("speaks de", "tier 2 ≤ 2", "skill payments")
    assert found.json() == {"match": True, "reasons": ["speaks de", "tier 2 ≤ 2", "skill payments"]}


def test_it_comes_after_the_english_rooms_for_an_english_tier_1_moderator() -> None:
    assert ranked(ENGLISH_TIER1) == [ENGLISH_DESIGN, ENGLISH, GERMAN_PAYMENTS]
    found = fit(ENGLISH_TIER1, GERMAN_PAYMENTS)
    assert not found.match
    assert found.reasons == ("does not speak de", "tier 2 > 1", "lacks skill payments")


def test_a_tier_1_moderator_who_speaks_german_and_knows_payments_is_no_match() -> None:
    tier1 = Profile("m-1", ("de",), ("payments",), 1)
    found = fit(tier1, GERMAN_PAYMENTS)
    assert not found.match
    assert found.reasons == ("speaks de", "tier 2 > 1", "skill payments")


def test_language_outranks_tier_and_tier_outranks_skills() -> None:
    moderator = Profile("m", ("de",), ("design",), 1)
    other_language = Need("fr", 1, ("design",))
    above_tier = Need("de", 2, ("design",))
    missing_skill = Need("de", 1, ("payments",))
    rooms = [other_language, above_tier, missing_skill]
    assert [r for r, _ in order(moderator, rooms, lambda n: n)] == [
        missing_skill,
        above_tier,
        other_language,
    ]
    assert not fit(moderator, missing_skill).match


def test_equal_fits_keep_the_queue_order() -> None:
    first, second = Need("en", 1, ()), Need("en", 1, ())
    assert next(r for r, _ in order(ENGLISH_TIER1, [first, second], lambda n: n)) is first


def test_a_room_without_skills_matches_on_language_and_tier() -> None:
    found = fit(ENGLISH_TIER1, ENGLISH)
    assert found.match and found.reasons == ("speaks en", "tier 1 ≤ 1")


def test_languages_are_reduced_to_their_primary_subtag() -> None:
    assert primary_language("de-AT") == "de"
    assert primary_language("pt_BR") == "pt"
    assert primary_language("EN") == "en"
    assert primary_language("german!") is None
    assert primary_language("") is None


def test_skills_are_lowercased_once_each() -> None:
    assert skills_of(["Payments", "design", "payments", " "]) == ["payments", "design"]
