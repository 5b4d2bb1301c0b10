"""Properties of the frame codec (issue 12): whatever a client sends, `decode` answers with a
frame or with FrameError `invalid`, never with any other exception, and every integer of a
decoded frame lies within the bounds the protocol documents."""

import json
from collections.abc import Iterator
from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediation.protocol.codec import FrameError, decode
from mediation.protocol.codes import ErrorCode
from mediation.protocol.frames import ClientFrame
from rooms.numbers import MAX_SEQ

CLIENT_FRAME = mi.type_info(ClientFrame)
assert isinstance(CLIENT_FRAME, mi.UnionType)  # a tagged union of structs, one per frame type
FRAMES: list[mi.StructType] = [t for t in CLIENT_FRAME.types if isinstance(t, mi.StructType)]
TAGS = [str(frame.tag) for frame in FRAMES]
FIELDS = sorted({field.name for frame in FRAMES for field in frame.fields})

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# strategies

EDGES = [0, 1, -1, 5, 200, 1440, MAX_SEQ, MAX_SEQ + 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**40]
integers = st.one_of(
    st.integers(), st.sampled_from(EDGES), st.sampled_from(EDGES).map(lambda n: -n)
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    st.floats(),  # NaN and infinities too: json.dumps writes them, as no valid JSON
    st.text(),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def frame_like(draw: st.DrawFn) -> dict[str, Any]:
    """A frame of a real type, with any subset of the fields frames have, valued at random:
    closer to valid frames than arbitrary JSON, so the schema's checks get exercised."""
    frame: dict[str, Any] = {"type": draw(st.sampled_from([*TAGS, "", "nope"]))}
    for name in draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=len(FIELDS))):
        frame[name] = draw(json_values)
    return frame


@st.composite
def nested(draw: st.DrawFn) -> str:
    """A send frame with junk nested deeper than any parser's stack, in a field it ignores."""
    depth = draw(st.integers(min_value=1, max_value=50_000))
    arrays = "[" * depth + "]" * depth
    objects = '{"a":' * depth + "0" + "}" * depth
    junk = draw(st.sampled_from([arrays, objects]))
    where = draw(st.sampled_from(["junk", "id", "since", "body"]))
    return f'{{"type": "send", "id": "x", "channel": "joint", "body": "b", "{where}": {junk}}}'


# the property


def decodes_or_is_invalid(data: str) -> ClientFrame | None:
    """The frame `data` holds, with its integers in bounds; None if it was refused as
    `invalid`. Any other exception escapes, and fails the property."""
    refused: FrameError | None = None
    try:
        frame = decode(data)
    except FrameError as exc:
        refused = exc
    if refused is not None:
        assert refused.code == ErrorCode.INVALID
        assert str(refused)
        assert refused.frame_id is None or isinstance(refused.frame_id, str)
        return None
    assert_ints_in_bounds(frame)
    return frame


def ints_in(value: Any) -> Iterator[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from ints_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from ints_in(item)


def assert_ints_in_bounds(frame: ClientFrame) -> None:
    for number in ints_in(msgspec.to_builtins(frame)):
        assert 0 <= number <= MAX_SEQ, frame


@PROPERTY
@given(st.text())
def test_any_text_decodes_or_is_invalid(data: str) -> None:
    decodes_or_is_invalid(data)


@PROPERTY
@given(st.text(st.one_of(st.characters(), st.characters(categories=["Cs"]))))  # lone surrogates
def test_any_code_points_decode_or_are_invalid(data: str) -> None:
    decodes_or_is_invalid(data)


@PROPERTY
@given(json_values)
def test_any_json_value_decodes_or_is_invalid(value: Any) -> None:
    decodes_or_is_invalid(json.dumps(value))


@PROPERTY
@given(frame_like())
def test_any_frame_shaped_object_decodes_or_is_invalid(frame: dict[str, Any]) -> None:
    decoded = decodes_or_is_invalid(json.dumps(frame))
    if decoded is not None:
        assert frame["type"] in TAGS


@settings(max_examples=30, deadline=None)
@given(nested())
def test_json_nested_past_the_parsers_depth_is_invalid(data: str) -> None:
    decodes_or_is_invalid(data)


@PROPERTY
@given(st.sampled_from(FRAMES), st.data())
def test_a_valid_frame_still_decodes_with_any_integer_in_range(
    frame: mi.StructType, data: st.DataObject
) -> None:
    """The bounds refuse only what is out of range: a frame whose integers are drawn
    within them (and whose other fields are well-formed) decodes."""
    value = {"type": frame.tag, **{f.name: data.draw(valid(f.type)) for f in frame.fields}}
    decoded = decode(json.dumps(value))
    assert type(decoded) is frame.cls


def valid(t: mi.Type) -> st.SearchStrategy[Any]:
    """Values of type `t`, as JSON, within its constraints."""
    if isinstance(t, mi.IntType):
        assert t.ge is not None and t.le is not None
        return st.integers(t.ge, t.le)
    if isinstance(t, mi.StrType):
        return st.text(min_size=t.min_length or 0, max_size=min(t.max_length or 20, 20))
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(list(t.values))
    if isinstance(t, mi.UnionType):
        return st.one_of([valid(member) for member in t.types])
    if isinstance(t, mi.DictType):
        return st.dictionaries(st.text(max_size=10), valid(t.value_type), max_size=4)
    raise AssertionError(f"no strategy for {t}")


# the schema itself: every integer a client sends has both bounds


def unbounded_ints(t: mi.Type, path: str) -> Iterator[str]:
    if isinstance(t, mi.IntType):
        if t.ge is None or t.le is None or t.le > MAX_SEQ or t.ge < 0:
            yield path
    elif isinstance(t, mi.UnionType):
        for member in t.types:
            yield from unbounded_ints(member, path)
    elif isinstance(t, mi.DictType | mi.ListType):
        inner = t.value_type if isinstance(t, mi.DictType) else t.item_type
        yield from unbounded_ints(inner, path + "[]")
    elif isinstance(t, mi.StructType):
        for field in t.fields:
            yield from unbounded_ints(field.type, f"{path}.{field.name}")
    elif isinstance(t, mi.FloatType):
        yield path + " (a float)"


def test_every_integer_of_every_client_frame_is_bounded() -> None:
    found = [p for frame in FRAMES for p in unbounded_ints(frame, str(frame.tag))]
    assert found == []


def test_the_bounds_are_those_of_a_javascript_number() -> None:
    assert float(MAX_SEQ) == MAX_SEQ  # every seq up to it is exact in a JSON client
    assert float(MAX_SEQ + 2) != MAX_SEQ + 2  # past it, not every one is
