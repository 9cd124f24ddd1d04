"""The README without a server: each block runs, answers another, or says why it cannot run; it links
and names only files of the repository; and the comparison of answers catches what it should. The
blocks themselves run in tests/e2e/test_readme.py."""

import re

import pytest

from tests import readme

ROOT = readme.README.parent
TOP_LEVEL = ("config/", "catalog/", "governance/", "lineage/", "tests/", "benchmarks/", "scripts/", "requirements/")


def test_every_block_runs_answers_one_or_says_why_not():
    found = readme.blocks()

    assert readme.problems(found) == []
    assert sum(block.language in readme.RUNNABLE and block.skip is None for block in found) >= 15


def test_it_links_only_files_of_the_repository():
    text = readme.README.read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)

    assert [target for target in targets if not (ROOT / target.split("#")[0]).is_file() or ".." in target] == []
    assert re.findall(r"(?<![\w.])\.\./[\w./-]+", text) == []


def test_the_repository_paths_it_names_exist():
    named = {path.rstrip(".,;:") for path in re.findall(r"`([^`\s]+)`", readme.README.read_text())}
    in_repository = [path for path in named if path.startswith((*TOP_LEVEL, ".ci/")) and "*" not in path]

    assert in_repository, "the README names files of the repository"
    assert sorted(path for path in in_repository if not (ROOT / path.split(":")[0]).exists()) == []


def test_a_block_neither_run_nor_marked_is_reported():
    text = "Intro\n\n```text\nsome output\n```\n\n```sh\necho hi\n```\n\n```json\n{}\n```\n\n```yaml\na: 1\n```\n"

    reported = readme.problems(readme.blocks(text))

    assert [line.split(" ")[0] for line in reported] == ["README.md:3", "README.md:15"]


def test_a_marker_without_a_reason_is_reported():
    text = "<!-- readme-test: skip -->\n```sh\nmake run\n```\n<!-- readme-test: skip it serves forever -->\n```sh\nx\n```\n"

    found = readme.blocks(text)

    assert readme.problems(found) == [f"{found[0].where}: the marker must read <!-- readme-test: skip REASON -->"]
    assert found[1].skip == "it serves forever"


def test_an_answer_in_comments_cuts_the_block_after_its_curl():
    block = readme.Block(
        "sh",
        'curl -s -X POST x/token/ \\\n  -d \'{}\'\n# {"token": "Jx3k...",\n#  "expires_at": "..."}\nexport TOKEN=Jx3k...\n',
        10,
    )

    pieces = readme.segments(block)

    assert [piece.shown for piece in pieces] == ['{"token": "Jx3k...",\n  "expires_at": "..."}', None]
    assert pieces[1].script == "export TOKEN=Jx3k...\n"


def test_the_lenient_answers_parse():
    shown = readme.lenient_json('{"id": "3f0c...", "data": {...}, "items": [1, ...], ...}')

    assert shown == {"id": "3f0c...", "data": {"...": "..."}, "items": [1, "..."], "...": "..."}


def test_an_answer_binds_its_placeholders_and_holds_them_to_one_value():
    shown = readme.lenient_json('{"id": "3f0c...", "latest": {"dataset": "3f0c...", "number": 1}}')

    bound = readme.match(shown, {"id": "abc", "latest": {"dataset": "abc", "number": 1}, "more": 2}, {})

    assert bound == {"3f0c...": "abc"}
    with pytest.raises(readme.Mismatch, match=r"3f0c\.\.\. was 'abc'"):
        readme.match(shown, {"id": "abc", "latest": {"dataset": "other", "number": 1}}, {})
    assert readme.Bindings(bound).substitute("curl x/3f0c.../\n") == "curl x/abc/\n"
    with pytest.raises(LookupError, match="a51e"):
        readme.Bindings(bound).substitute("curl x/a51e.../\n")


@pytest.mark.parametrize(
    ("shown", "answered"),
    [
        ('{"status": "ready"}', {"status": "pending"}),
        ('{"findings": []}', {"findings": [{"code": "label_leakage"}]}),
        ('{"row_count": 2}', {"rows": 2}),
        ('{"std": 2.33}', {"std": 2.4}),
        ('{"uri": "file:///.../flowers.csv"}', {"uri": "file:///data/trees.csv"}),
        ('{"items": [{"a": 1}, ...]}', {"items": [{"a": 2}, {"a": 3}]}),
        ('{"flag": false}', {"flag": 0}),
    ],
)
def test_an_answer_unlike_the_service_s_is_a_mismatch(shown, answered):
    with pytest.raises(readme.Mismatch):
        readme.match(readme.lenient_json(shown), answered, {})


@pytest.mark.parametrize(
    ("shown", "answered"),
    [
        ('{"std": 2.33, "mean": 3.05}', {"std": 2.3334523779, "mean": 3.05}),
        ('{"items": [{"a": 3}, ...]}', {"items": [{"a": 1}, {"a": 3}, {"a": 4}]}),
        ('{"uri": "file:///.../flowers/train.csv"}', {"uri": "file:///srv/data/flowers/train.csv"}),
        ('{"event_id": ..., "datasets": [...]}', {"event_id": 6, "datasets": [1, 2]}),
    ],
)
def test_an_answer_like_the_service_s_matches(shown, answered):
    readme.match(readme.lenient_json(shown), answered, {})


def test_printed_lines_bind_what_they_show():
    printed = "Demo dataset: demo/x  id=42  file=/srv/data/demo/x.csv\nDemo user: demo  password: s3cret  (admin)\n"

    bound = readme.match_text("Demo user: demo  password: <demo password>  (admin)", printed, {})

    assert bound == {"<demo password>": "s3cret"}
    with pytest.raises(readme.Mismatch):
        readme.match_text("Demo user: someone", printed, {})
