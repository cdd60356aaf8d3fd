"""Feedback in Korean and English from one code base: are the catalogues complete and their
placeholders right, does the language come from where SPEC.md says, and does the terminal
table line up with Korean text (Hangul is two columns wide)?"""

from __future__ import annotations

import gettext
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT, copy_course
from grader import i18n, messages, po, render, textwidth
from grader.cli import main
from grader.course import load_course
from grader.report import GradeReport
from grader.report import TestResult as Result

MSGFMT = shutil.which("msgfmt")
CATALOGUES = sorted([*ROOT.glob("grader/locale/*.po"), *ROOT.glob("solutions/*/*.po"), *ROOT.glob("exercises/*/*.po")])


# ------------------------------------------------------------------ the catalogues (CI)

def test_every_message_has_a_korean_translation_with_the_same_placeholders(course):
    """The CI check: every marked message and test name of the grader and the exercises is in
    its catalogue, translated, not fuzzy, with exactly the msgid's {placeholders}."""
    assert messages.check(course) == []


@pytest.mark.skipif(MSGFMT is None, reason="GNU gettext is not installed; the Python check covers the same")
@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_gnu_msgfmt_accepts_every_catalogue(path, tmp_path):
    result = subprocess.run([MSGFMT, "--check", "-o", str(tmp_path / "out.mo"), str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr


def test_there_are_catalogues_to_check():
    assert ROOT / "grader/locale/ko.po" in CATALOGUES
    assert {p.parent.name for p in CATALOGUES if p.parent.parent.name == "solutions"} >= {"exercise3"}


MSGID = "{p} is the drop probability of {name}"
BROKEN = {  # translation of MSGID -> what is wrong with it (GNU msgfmt --check rejects each too)
    "p={q} {name}": "lacks the placeholder {p}",
    "{name}": "lacks the placeholder {p}",
    "{p} {name} {extra}": "has the placeholder {extra}",
    "{p:g} {name}": "lacks the placeholder {p}",
    "{p {name}": "not a valid format string",
}
OURS_ONLY = {  # what GNU msgfmt 0.21 lets through and our check does not
    "{p} {name}}": "not a valid format string",       # a lone closing brace: str.format raises
    "{p} {name!r}": "lacks the placeholder {name}",  # a conversion (msgfmt skips such strings)
}


def _po_text(msgid: str, msgstr: str, *, flags: str = "python-brace-format") -> str:
    header = ('msgid ""\nmsgstr ""\n"Language: ko\\n"\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
              '"Plural-Forms: nplurals=1; plural=0;\\n"\n\n')
    return header + (f"#, {flags}\n" if flags else "") + f"msgid {json.dumps(msgid, ensure_ascii=False)}\nmsgstr {json.dumps(msgstr, ensure_ascii=False)}\n"


def _msgfmt_accepts(text: str, tmp_path: Path) -> bool:
    (tmp_path / "t.po").write_text(text, encoding="utf-8")
    return subprocess.run([MSGFMT, "--check-format", "-o", "/dev/null", str(tmp_path / "t.po")],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("translation", [*BROKEN, *OURS_ONLY])
def test_the_placeholder_check_catches_what_msgfmt_catches(translation, tmp_path):
    """A renamed, dropped or added placeholder, a changed format spec and unbalanced braces
    are reported by our check, and (where it is installed) by GNU msgfmt --check too; our
    check also catches two that msgfmt 0.21 lets through."""
    text = _po_text(MSGID, translation)
    problems = po.check(po.parse(text, "broken.po"), "broken.po")
    assert problems and {**BROKEN, **OURS_ONLY}[translation] in problems[0], problems
    if MSGFMT and translation in BROKEN:
        assert not _msgfmt_accepts(text, tmp_path), f"msgfmt accepted {translation!r}"


def test_a_good_translation_passes_both_checks(tmp_path):
    text = _po_text(MSGID, "{p}은(는) {name}의 드롭 확률입니다")
    assert po.check(po.parse(text), "good.po") == []
    if MSGFMT:
        assert _msgfmt_accepts(text, tmp_path)


def test_a_msgid_msgfmt_cannot_check_is_refused_in_the_code(tmp_path):
    """GNU msgfmt skips format strings with a conversion ({x!r}): the code may not use them (a
    format spec, {p:.3g}, it checks: the translation must keep it)."""
    source = tmp_path / "m.py"
    source.write_text('_("unknown exercise {name!r}", name=1)\n_("{p:.3g}", p=1)\n', encoding="utf-8")
    found, problems = messages.extract([source], tmp_path)
    assert len(problems) == 1 and "m.py:1: a placeholder with a conversion" in problems[0]
    assert "GNU msgfmt --check does not check those" in problems[0] and "{p:.3g}" in found


def test_a_message_without_translation_or_marked_fuzzy_fails_the_check():
    missing = po.check(po.parse(_po_text("test mode is the identity", "", flags="")), "ko.po")
    fuzzy = po.check(po.parse(_po_text("test mode is the identity", "항등 함수", flags="fuzzy")), "ko.po")
    assert missing == ["ko.po, line 7 ('test mode is the identity'): no translation"]
    assert fuzzy and "fuzzy" in fuzzy[0]


def test_a_new_message_in_the_code_fails_the_check_until_translated(tmp_path, monkeypatch):
    """The completeness check compares the catalogue with the code, not only with itself."""
    source = tmp_path / "feedback.py"
    source.write_text('from grader.i18n import _\n_("a brand new message about {p}", p=1)\n'
                      'x = 2\n_(f"an f-string {x} cannot be translated")\n', encoding="utf-8")
    found, problems = messages.extract([source], tmp_path)
    assert list(found) == ["a brand new message about {p}"]
    assert problems == ["feedback.py:4: _() needs a plain string literal (with {name} placeholders), "
                        "not an f-string or an expression"]
    catalogue = messages.Catalogue("t", (source,), tmp_path)
    monkeypatch.setattr(messages, "catalogues", lambda course=None: [catalogue])
    messages.update(catalogue, "ko", tmp_path)
    assert any("no translation" in p for p in messages.check(root=tmp_path))
    entries = po.parse((tmp_path / "ko.po").read_text(encoding="utf-8"))
    entries[1].msgstr = "{p}에 대한 새 메시지"
    (tmp_path / "ko.po").write_text(po.write(entries), encoding="utf-8")
    assert messages.check(root=tmp_path) == [problems[0]]


def test_the_catalogue_compiled_in_memory_reads_as_msgfmt_compiles_it(tmp_path):
    """grader/po.py's .mo is what the standard library reads; where GNU msgfmt is installed,
    its .mo of the same catalogue holds the same translations."""
    path = ROOT / "grader/locale/ko.po"
    ours = gettext.GNUTranslations(io.BytesIO(po.compile_mo(po.parse(path.read_text(encoding="utf-8")))))
    assert ours.gettext("PASS") == "통과"
    assert ours.ngettext("{n} test", "{n} tests", 3).format(n=3) == "테스트 3개"
    if MSGFMT:
        subprocess.run([MSGFMT, "-o", str(tmp_path / "ko.mo"), str(path)], check=True)
        with open(tmp_path / "ko.mo", "rb") as f:
            theirs = gettext.GNUTranslations(f)
        assert ours._catalog == theirs._catalog


def test_the_student_copy_carries_the_public_tests_translations_only(course):
    """exercises/<id>/ko.po (written by grade build) holds what the public tests and
    mistakes.yml say (both ship), and names no hidden test."""
    for ex in course.exercises:
        public, _ = messages.extract([ex.solution_dir / "test_public.py", ex.student_dir / "mistakes.yml"], ROOT,
                                     test_names=True)  # the mistakes the release ships: those the public tests name
        hidden, _ = messages.extract([ex.solution_dir / "test_hidden.py"], ROOT, test_names=True)
        shipped = {e.msgid for e in po.parse((ex.student_dir / "ko.po").read_text(encoding="utf-8")) if e.msgid}
        assert shipped == set(public), ex.id
        assert not (set(hidden) - set(public)) & shipped


# ------------------------------------------------------------------ which language

def test_the_language_comes_from_the_flag_then_the_variable_then_the_course():
    assert i18n.resolve(None, None, environ={}) == "en"
    assert i18n.resolve(None, "ko", environ={}) == "ko"
    assert i18n.resolve(None, "ko", environ={"GRADER_LANG": "en"}) == "en"
    assert i18n.resolve("ko", "en", environ={"GRADER_LANG": "en"}) == "ko"
    assert i18n.resolve("en", "ko", environ={"GRADER_LANG": "ko_KR.UTF-8"}) == "en"
    assert i18n.resolve(None, None, environ={"GRADER_LANG": "ko_KR.UTF-8"}) == "ko"


@pytest.fixture(scope="module")
def korean_course(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("korean"))
    text = (root / "course.yml").read_text(encoding="utf-8")
    (root / "course.yml").write_text(text.replace("schema_version: 1\n", "schema_version: 1\nlanguage: ko\n"),
                                     encoding="utf-8")
    return root


def test_every_command_takes_the_language_in_that_order(korean_course, monkeypatch):
    monkeypatch.delenv("GRADER_LANG", raising=False)
    runner = CliRunner()

    def listing(*args, env=None):
        result = runner.invoke(main, ["list", "--course", str(korean_course), *args], env=env or {})
        assert result.exit_code == 0, result.output
        return result.stdout

    assert "시작 안 함" in listing()                                     # course.yml: language: ko
    assert "not started" in listing(env={"GRADER_LANG": "en"})           # the variable beats the course
    assert "시작 안 함" in listing("--lang", "ko", env={"GRADER_LANG": "en"})  # the flag beats both
    assert "not started" in listing("--lang", "en")
    english = runner.invoke(main, ["list", "--course", str(ROOT)], env={"GRADER_LANG": ""})
    assert "not started" in english.stdout
    for command in main.commands.values():
        leaves = command.commands.values() if hasattr(command, "commands") else [command]
        assert all("--lang" in {o for p in c.params for o in p.opts} for c in leaves), command.name


def test_an_unknown_language_is_one_line_and_exit_status_2(korean_course, tmp_path):
    for args, env in ((["--lang", "fr"], {}), ([], {"GRADER_LANG": "klingon"})):
        result = CliRunner().invoke(main, ["list", "--course", str(ROOT), *args], env=env)
        assert result.exit_code == 2
        assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
        assert "en (English), ko (한국어)" in result.output
    bad = copy_course(tmp_path / "bad")
    text = (bad / "course.yml").read_text(encoding="utf-8")
    (bad / "course.yml").write_text(text.replace("schema_version: 1\n", "schema_version: 1\nlanguage: fr\n"))
    result = CliRunner().invoke(main, ["list", "--course", str(bad)], env={"GRADER_LANG": ""})
    assert result.exit_code == 2 and "'language' is 'fr'" in result.output


def test_a_usage_error_speaks_the_language(korean_course):
    result = CliRunner().invoke(main, ["exercise9", "--course", str(korean_course)], env={"GRADER_LANG": ""})
    assert result.exit_code == 2
    assert result.output.startswith("Error: 'exercise9'(이)라는 과제는 없습니다")


# ------------------------------------------------------------------ display width

def _korean_report() -> GradeReport:
    long = ("학습 모드에서 드롭한 유닛의 비율이 0.8012로 1 - p에 가깝습니다: p를 남길 확률(keep probability)로 "
            "썼습니다. 여기서 p는 유닛을 드롭할 확률입니다 (torch의 nn.Dropout(p)와 같음). 각 유닛을 확률 1 - p로 "
            "남기세요. 예: mask = rng.random(x.shape) >= p")
    tests = (
        Result("dropout_forward: training drops a fraction p of the units", "dropout_forward", 2, "failed",
                   False, long, title="dropout_forward: 학습 모드에서 유닛의 비율 p만큼을 드롭"),
        Result("dropout_forward: test mode is the identity", "dropout_forward", 2, "passed", False,
                   title="dropout_forward: 테스트 모드는 항등 함수 (출력 = 입력)"),
        Result("dropout_backward: at test time dx = dout", "dropout_backward", 1, "timeout", True,
                   "dropout_backward()이(가) 10초 안에 끝나지 않았습니다", title="dropout_backward: 테스트 모드에서 dx = dout"),
        Result("dropout_backward: x", "dropout_backward", 10, "error", False, "오류 메시지"),
    )
    return GradeReport("exercise3", tests, language="ko", notes=(long,))


@pytest.mark.parametrize("columns", [60, 80, 100])
def test_the_terminal_table_lines_up_with_korean_text(columns, monkeypatch):
    """Every line fits the terminal counted in display columns (a 38-character Korean line
    is 76 columns wide), the points column starts at the same column on every test row
    whatever the label's language, and wrapped lines are filled: the next line's first word
    would not have fitted on the line before (a wrap counting characters breaks Korean lines
    at half the width or lets them run past it)."""
    monkeypatch.setenv("COLUMNS", str(columns))
    text = render.table(_korean_report(), title="드롭아웃")
    lines = text.splitlines()
    test_rows = [ln for ln in lines if "/" in ln[:20] and ln.startswith("  ") and ln[2] != " "]
    assert len(test_rows) == 4
    assert all(textwidth.width(ln) <= columns for ln in lines if ln not in test_rows), \
        max(lines, key=textwidth.width)
    starts = {textwidth.width(ln[:ln.index("/")]) for ln in test_rows}
    assert len(starts) == 1, test_rows  # 0/2, 2/2, 0/1 and 0/10 line up under 실패, 통과, 시간초과, 오류
    arrow = starts.pop() + 2  # a message's arrow sits past the points column, under 실패's row as under FAIL's
    message = [i for i, ln in enumerate(lines) if ln.startswith(" " * arrow + "-> ")][0]
    end = next(i for i in range(message + 1, len(lines)) if not lines[i].startswith(" " * (arrow + 3)))
    assert end > message + 2  # the long message took several lines
    for i in range(message, end - 1):
        assert textwidth.width(lines[i]) + 1 + textwidth.width(lines[i + 1].split()[0]) > columns, lines[i]
    assert "점수: 2 / 15  (테스트 4개 중 1개 통과)" in lines[-1]


def test_display_width_counts_hangul_twice_and_colours_not_at_all():
    assert textwidth.width("드롭아웃") == 8
    assert textwidth.width("\x1b[31m실패\x1b[0m") == 4
    assert textwidth.width("e\u0301") == 1
    assert textwidth.ljust("통과", 8) == "통과    "
    words = "가나다라 " * 30
    assert all(textwidth.width(ln) <= 38 for ln in textwidth.wrap(words, 38))
    assert textwidth.wrap("가" * 50, 20) == ["가" * 10] * 5  # a word longer than a line is cut


# ------------------------------------------------------------------ exports

def test_gradescope_results_are_in_the_reports_language():
    from grader.gradescope import results

    data = results(_korean_report())
    assert [t["name"] for t in data["tests"]][:3] == [
        "dropout_forward: 학습 모드에서 유닛의 비율 p만큼을 드롭", "dropout_forward: 테스트 모드는 항등 함수 (출력 = 입력)",
        "dropout_backward: 테스트 모드에서 dx = dout (비공개)"]
    assert data["tests"][0]["output"].startswith("실패: 학습 모드에서")
    assert data["tests"][2]["output"].startswith("시간초과: ")
    assert data["output"].startswith("exercise3: 공개 테스트 2 / 14점 (3개 중 1개 통과).")


def test_nbgrader_feedback_is_in_the_reports_language():
    from grader.nbgrader_cell import feedback

    tests = [t.to_dict() for t in _korean_report().tests[:2]]
    with i18n.language("ko"):
        text = feedback(tests, "dropout_forward", 2.0, 4.0, public_only=True)
    assert text.splitlines()[0] == ("dropout_forward: 2 / 4점 (공개 테스트만 반영. 비공개 테스트는 최종 채점 때 "
                                    "반영됩니다)")
    assert "  실패  0/2  dropout_forward: 학습 모드에서" in text


def test_the_gradebooks_error_column_is_in_the_courses_language(tmp_path):
    from grader.roster import find_students

    exercise = load_course(ROOT).exercise("exercise3")
    (tmp_path / "submissions").mkdir()
    (tmp_path / "submissions" / "alice_dropout.ipynb").write_text("{}\n")  # two notebooks: which one?
    (tmp_path / "submissions" / "alice_exercise3.ipynb").write_text("{}\n")
    with i18n.language("ko"):
        roster = find_students(tmp_path / "submissions", exercise)
    problems = [s.problem for s in roster.students if s.problem]
    assert problems and "하나만 남기고 다시 채점하세요" in problems[0]


def test_grade_speaks_korean_and_keeps_the_ids(korean_course):
    """A grading in Korean: the table and the JSON's messages and titles are Korean; the
    test names (the gradebook's columns, what -k matches) stay the same in every language."""
    stub = ["exercise3", "--course", str(korean_course), "--public-only", "-k", "dropout_forward and not vanilla"]
    result = CliRunner().invoke(main, [*stub, "-v"], env={"GRADER_LANG": ""})
    assert result.exit_code == 0, result.output
    assert "dropout_forward: 학습 모드에서 유닛의 비율 p만큼을 드롭" in result.stdout
    assert "dropout_forward은(는) 아직 구현되지 않았습니다 (NotImplementedError를 발생시킴)" in result.stdout
    report = json.loads(CliRunner().invoke(main, [*stub, "--json"], env={"GRADER_LANG": ""}).stdout)
    english = json.loads(CliRunner().invoke(main, [*stub, "--json", "--lang", "en"]).stdout)
    assert report["language"] == "ko" and "language" not in english
    assert [t["name"] for t in report["tests"]] == [t["name"] for t in english["tests"]]
    assert all(t["title"] != t["name"] for t in report["tests"])
    assert report["tests"][0]["message"] == "dropout_forward은(는) 아직 구현되지 않았습니다 (NotImplementedError를 발생시킴)"
    assert english["tests"][0]["message"] == "dropout_forward is not implemented yet (it raises NotImplementedError)"


def test_a_korean_batch_writes_its_error_column_in_korean(tmp_path):
    """grade batch --lang ko: the gradebook's error column (a syntax error, two hand-ins) is
    Korean; the columns (test names) are the same as in English."""
    import csv

    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / "dropout.py").write_text("def dropout_forward(x, p, train, rng)\n    return x\n")
    (subs / "bob_dropout.ipynb").write_text("{}\n")
    (subs / "bob_exercise3.ipynb").write_text("{}\n")
    summaries = {}
    for lang in ("ko", "en"):
        out = tmp_path / f"grades-{lang}.csv"
        result = CliRunner().invoke(main, ["batch", "exercise3", str(subs), "--out", str(out), "--jobs", "1",
                                           "--course", str(ROOT), "--lang", lang])
        assert result.exit_code == 0, result.output
        summaries[lang] = result.stderr.strip().splitlines()[-1]  # after the progress bar
    # the summary too, in the language spoken (grader.render.batch_summary_text)
    assert summaries["en"].startswith("Graded 2 students in ") and "0 gradings failed" in summaries["en"]
    assert "2 students with nothing that could be graded (the error column says why)" in summaries["en"]
    assert summaries["ko"].startswith("학생 2명 채점 완료 (") and "채점 실패 0건" in summaries["ko"], summaries
    assert "채점할 수 있는 것이 없는 학생 2명 (이유는 error 열에 있음)" in summaries["ko"]
    assert f"{tmp_path / 'grades-ko.csv'}에 저장했습니다." in summaries["ko"]
    ko, en = (list(csv.DictReader((tmp_path / f"grades-{lang}.csv").open(encoding="utf-8"))) for lang in ("ko", "en"))
    assert [r["student_id"] for r in ko] == ["alice", "bob"] and ko[0].keys() == en[0].keys()
    assert "문법 오류" in ko[0]["error"] and "syntax error" in en[0]["error"]
    assert "하나만 남기고 다시 채점하세요" in ko[1]["error"] and "keep one and grade again" in en[1]["error"]


def test_a_notebook_check_speaks_the_reports_language():
    """grader.check(...) in a notebook: its HTML and text say everything around the report in
    the report's language, with the tests' Korean titles (escaped as ever)."""
    from grader.notebook_result import CheckResult

    report = _korean_report()
    reply = {"report": report.to_dict(), "text": render.table(report), "title": "드롭아웃", "exercise_points": 26,
             "hidden_ran": False}
    result = CheckResult(reply, function=None)
    page = result._repr_html_()
    assert "점수: 2 / 15" in page and "(테스트 4개 중 1개 통과)" in page and ">실패<" in page
    assert "학습 모드에서 유닛의 비율 p만큼을 드롭" in page and "Score:" not in page
    assert "공개 테스트만 실행했습니다 (3개)." in result.text()
    assert CheckResult(problem="x", exercise="exercise3", language="ko").text() == \
        "exercise3: 채점하지 못해 0점입니다\n  x"
