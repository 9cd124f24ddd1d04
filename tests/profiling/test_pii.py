"""Which string values look like personal data, the share per column, and masking for display."""

import pyarrow as pa
import pytest

from catalog.profiling.pii import PII_KINDS, PiiScan, mask, scan_values


def kinds_of(value: str) -> list[str]:
    matches = scan_values([value]).matches
    return [kind for kind in PII_KINDS if matches[kind]]


@pytest.mark.parametrize(
    "value",
    [
        "jane.doe@example.org",
        "jane+newsletter@example.org",
        "j.o.h.n_d-o-e@mail.eu.example.co.uk",
        "  jane@example.org\n",
        "JANE@EXAMPLE.ORG",
    ],
)
def test_it_detects_emails(value):
    assert kinds_of(value) == ["email"]


@pytest.mark.parametrize(
    "value",
    ["jane@localhost", "jane@example.c", "jane.@example.org", "@example.org", "jane@@example.org", "jane@-x.org"],
)
def test_it_rejects_malformed_emails(value):
    assert kinds_of(value) == []


def test_it_rejects_free_text_mentioning_emails():
    reviews = [
        "Great product, contact me at jane@example.org",
        "jane@example.org was very helpful",
        "Ask bob@example.com or alice@example.com",
    ]

    assert scan_values(reviews).matches["email"] == 0


@pytest.mark.parametrize(
    "value",
    [
        "+1 415-555-2671",
        "+14155552671",
        "+44 (0)20 7946 0958",
        "+33 6 12 34 56 78",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "1-800-555-1234",
        "020 7946 0958",
        "06 12 34 56 78",
        "06.12.34.56.78",
    ],
)
def test_it_detects_phones(value):
    assert kinds_of(value) == ["phone"]


@pytest.mark.parametrize(
    "value",
    [
        "12345678",
        "4155552671",
        "2024-01-05",
        "05.01.2024",
        "05/01/2024",
        "2024-01-05 12:30:00",
        "2024-01-05T12:30:00Z",
        "12:30:00",
        "1234567.89",
        "+1234567.89",
        "-1234567.89",
        "1 234 567",
        "12345",
        "12345-6789",
        "+12345",
        "555-1234-5678-9012-34",
        "978-3-16-148410-0",
    ],
)
def test_it_rejects_numbers_dates_and_codes_as_phones(value):
    assert "phone" not in kinds_of(value)


@pytest.mark.parametrize(
    "value",
    [
        "192.168.0.1",
        "100.64.0.0",
        "255.255.255.255",
        "1.2.3.4",
        "::1",
        "::",
        "fe80::1",
        "2001:db8::ff00:42:8329",
        "2001:0DB8:85A3:0000:0000:8A2E:0370:7334",
        "::ffff:192.0.2.128",
    ],
)
def test_it_detects_ip_addresses(value):
    assert kinds_of(value) == ["ip_address"]


@pytest.mark.parametrize(
    "value",
    [
        "999.1.1.1",
        "256.0.0.1",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "v1.2.3.4",
        "1:2:3:4:5:6:7:8:9",
        "1::2::3",
        "12:30:00",
    ],
)
def test_it_rejects_malformed_ip_addresses(value):
    assert kinds_of(value) == []


@pytest.mark.parametrize(
    "value",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555555555554444",
        "378282246310005",
        "6011111111111117",
        "4222222222222",
    ],
)
def test_it_detects_card_numbers(value):
    assert kinds_of(value) == ["card_number"]


@pytest.mark.parametrize(
    "value",
    ["4111111111111112", "4111 1111 1111 1112", "1234567812345670", "411111111111", "0000000000000000"],
)
def test_it_rejects_non_luhn_and_non_card_numbers(value):
    assert "card_number" not in kinds_of(value)


def test_it_rejects_sixteen_digit_numbers_that_fail_luhn():
    numbers = [str(4 * 10**15 + i * 48_271_000_003) for i in range(500)]
    failing = [number for number in numbers if not _luhn(number)]

    assert scan_values(failing).matches["card_number"] == 0


def test_it_counts_the_share_of_each_kind():
    values = ["jane@example.org", "bob@example.org", "hello", "555-123-4567"]

    scan = scan_values(values)

    assert scan == PiiScan(sampled=4, matches={"email": 2, "phone": 1, "ip_address": 0, "card_number": 0})
    assert scan.shares() == {"email": 0.5, "phone": 0.25, "ip_address": 0.0, "card_number": 0.0}


def test_it_suspects_kinds_whose_share_reaches_the_threshold():
    scan = PiiScan(sampled=10, matches={"email": 3, "phone": 5, "ip_address": 1, "card_number": 0})

    assert scan.suspected() == ["email", "phone"]
    assert scan.suspected(threshold=0.31) == ["phone"]
    assert scan.suspected(threshold=0.1) == ["email", "ip_address", "phone"]
    assert scan.suspected(threshold=1.0) == []


@pytest.mark.parametrize("threshold", [0, -0.1, 1.5])
def test_it_rejects_a_threshold_outside_the_unit_interval(threshold):
    with pytest.raises(ValueError, match="threshold"):
        PiiScan(sampled=1, matches=dict.fromkeys(PII_KINDS, 0)).suspected(threshold)


def test_it_handles_an_empty_sample():
    scan = scan_values([])

    assert scan == PiiScan(sampled=0, matches=dict.fromkeys(PII_KINDS, 0))
    assert scan.shares() == dict.fromkeys(PII_KINDS, 0.0)
    assert scan.suspected() == []


def test_it_skips_none_values():
    scan = scan_values([None, "jane@example.org", None, "hello"])

    assert scan.sampled == 2
    assert scan.shares()["email"] == 0.5


def test_it_scans_arrow_arrays_of_every_string_type():
    values = ["jane@example.org", None, "192.168.0.1", "4111111111111111"]
    expected = PiiScan(sampled=3, matches={"email": 1, "phone": 0, "ip_address": 1, "card_number": 1})

    for array in (
        pa.array(values, type=pa.string()),
        pa.array(values, type=pa.large_string()),
        pa.array(values, type=pa.string_view()),
        pa.chunked_array([values[:2], values[2:]], type=pa.string()),
    ):
        assert scan_values(array) == expected


def test_it_rejects_non_string_input():
    with pytest.raises(TypeError):
        scan_values(pa.array([1, 2, 3]))
    with pytest.raises(TypeError):
        scan_values("jane@example.org")


def test_it_scans_ten_thousand_values():
    def value(i: int) -> str:
        return [
            f"user{i}@example.org",
            f"555-{i % 1000:03d}-{i:04d}",
            f"10.0.{i % 256}.{i % 200}",
            f"order-{i}",
            str(10**15 + i * 99_991_234_567),
        ][i % 5]

    values = [value(i) for i in range(10_000)]

    scan = scan_values(pa.array(values))

    assert scan.sampled == 10_000
    assert scan.matches["email"] == scan.matches["phone"] == scan.matches["ip_address"] == 2_000
    assert scan.matches["card_number"] < 200
    assert scan.suspected() == []


def test_it_masks_emails():
    masked = mask("jane.doe+news@mail.example.org", ["email"])

    assert masked == "j***@m***.org"
    assert "jane.doe" not in masked
    assert "example" not in masked


def test_it_masks_phones_and_cards_keeping_the_last_two_digits():
    phone = mask("+1 415-555-2642", ["phone"])
    card = mask("4111 1111 1111 1111", ["card_number"])

    assert phone == "***-**42"
    assert card == "***-**11"
    assert "415" not in phone
    assert "4111" not in card


def test_it_masks_ip_addresses():
    assert mask("192.168.0.12", ["ip_address"]) == "***.***.***.12"
    assert mask("2001:db8::ff00:42:8329", ["ip_address"]) == "***"


def test_it_masks_a_value_by_the_first_kind_it_looks_like():
    assert mask("jane@example.org", ["phone", "email"]) == "j***@e***.org"
    assert mask("not personal", ["email", "phone"]) == "***"
    assert mask("jane@example.org", []) == "***"


@pytest.mark.parametrize(
    "value", ["jane@example.org", "555-123-4567", "10.1.2.3", "::1", "4111111111111111", "plain text", ""]
)
def test_it_never_returns_the_value_it_masks(value):
    assert mask(value, PII_KINDS) != value


def test_it_rejects_unknown_kinds_to_mask():
    with pytest.raises(ValueError, match="ssn"):
        mask("123-45-6789", ["ssn"])


def _luhn(number: str) -> bool:
    digits = [int(char) for char in reversed(number)]
    return sum(digits[0::2] + [sum(divmod(digit * 2, 10)) for digit in digits[1::2]]) % 10 == 0
