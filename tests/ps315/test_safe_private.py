"""PS3.15 Table E.3.10-1, the safe private attributes, as package data."""

from __future__ import annotations

from deidscope import ps315


def test_the_table_lists_the_standards_rows() -> None:
    table = ps315.load_safe_private()
    assert len(table) == 479
    assert list(table.columns) == [
        "tag",
        "group",
        "element",
        "private_creator",
        "vr",
        "vm",
        "meaning",
    ]
    assert (table.group % 2 == 1).all()
    assert table.element.between(0, 0xFF).all()
    row = table[(table.group == 0x7053) & (table.element == 0x00)].iloc[0]
    assert row.private_creator == "Philips PET Private Group"
    assert row.vr == "DS"
    assert "HOLOGIC, Inc." in set(table.private_creator)


def test_is_safe_private_matches_group_creator_and_element_byte() -> None:
    assert ps315.is_safe_private(0x0019, "GEMS_ACQU_01", 0x1023)
    assert ps315.is_safe_private(0x0019, "GEMS_ACQU_01", 0x2323)  # any block
    assert ps315.is_safe_private(0x0019, "GEMS_ACQU_01 ", 0x23)  # padding
    assert not ps315.is_safe_private(0x0019, "GEMS_ACQU_01", 0x1025)  # unlisted
    assert not ps315.is_safe_private(0x0021, "GEMS_ACQU_01", 0x1023)  # group
    assert not ps315.is_safe_private(0x0019, "ACME", 0x1023)  # creator
    assert not ps315.is_safe_private(0x0019, None, 0x1023)
    assert not ps315.is_safe_private(0x0018, "GEMS_ACQU_01", 0x1023)  # even


def test_the_copy_is_the_callers() -> None:
    table = ps315.load_safe_private()
    table.loc[:, "private_creator"] = "x"
    assert ps315.load_safe_private().private_creator.iloc[0] != "x"
