"""`grade batch --shard I/N` and `grade merge`: a class split over machines.

Questions: does every student land in exactly one shard, and does a new shard take few
students from the others? Do the three shards of a real exercise3 class, merged, give the
very bytes of one `grade batch` (CSV, JSON, and the list of skipped entries)? Does merge
refuse, in one line and exit status 2, shards graded with another course version, a
missing, doubled or unfinished shard, and a result changed after the shard finished?
"""

import json
import shutil

import pytest
from click.testing import CliRunner

from conftest import ROOT, copy_course, exercise3_class
from grader.cli import main
from grader.shards import Shard, shard_of

CLASS_SIZE = 15  # every kind of hand-in of exercise3 once (conftest.exercise3_class), some twice


def run_cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


# ---------------------------------------------------------------- the split

def test_every_student_is_in_exactly_one_shard_and_the_shards_are_even():
    ids = [f"student{i:05d}" for i in range(3000)] + ["Jane Doe_1234567", "김민준", "x" * 300]
    for count in (1, 2, 3, 7):
        sizes = [sum(Shard(i, count).holds(s) for s in ids) for i in range(1, count + 1)]
        assert sum(sizes) == len(ids)  # each in one shard: holds() is true for exactly one i
        assert all(s == sum(shard_of(x, count) == i + 1 for x in ids) for i, s in enumerate(sizes))
        assert max(sizes) - min(sizes) < 0.15 * len(ids) / count, sizes


def test_one_more_shard_moves_only_the_students_it_takes():
    ids = [f"student{i:05d}" for i in range(3000)]
    for count in (2, 3, 5):
        before = {s: shard_of(s, count) for s in ids}
        after = {s: shard_of(s, count + 1) for s in ids}
        moved = [s for s in ids if before[s] != after[s]]
        assert all(after[s] == count + 1 for s in moved)  # nobody moves between old shards
        assert 0.5 / (count + 1) < len(moved) / len(ids) < 1.5 / (count + 1)


# ---------------------------------------------------------------- shards and merge, for real

@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    return exercise3_class(tmp_path_factory.mktemp("class") / "submitted", CLASS_SIZE)


@pytest.fixture(scope="module")
def single(classroom, tmp_path_factory):
    """One machine: the reference gradebooks, CSV and JSON."""
    out = tmp_path_factory.mktemp("single")
    for suffix in ("csv", "json"):
        result = run_cli("batch", "exercise3", classroom, "--out", out / f"grades.{suffix}", "--jobs", 2,
                         "--course", ROOT)
        assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def shards(classroom, tmp_path_factory):
    """Three machines' shard folders (here: one machine, one after another)."""
    out = tmp_path_factory.mktemp("shards")
    results = [run_cli("batch", "exercise3", classroom, "--out", out / "grades.csv", "--shard", f"{i}/3",
                       "--jobs", 2, "--course", ROOT) for i in (1, 2, 3)]
    for result in results:
        assert result.exit_code == 0, result.output
    return out, results


def test_three_shards_merged_are_the_single_run_byte_for_byte(single, shards, tmp_path):
    folder, results = shards
    partials = [folder / f"grades.csv.shard-{i}-of-3" for i in (1, 2, 3)]
    assert not (folder / "grades.csv").exists()  # a shard writes no gradebook
    graded = [int(r.stderr.split("Graded ")[1].split()[0]) for r in results]
    assert sum(graded) == CLASS_SIZE and all(graded)
    for suffix in ("csv", "json"):
        merged = run_cli("merge", *partials, "--out", tmp_path / f"grades.{suffix}")
        assert merged.exit_code == 0, merged.output
        assert f"Merged 3 shards, {CLASS_SIZE} students" in merged.stderr
        assert (tmp_path / f"grades.{suffix}").read_bytes() == (single / f"grades.{suffix}").read_bytes()
        assert (tmp_path / f"grades.skipped.{suffix}").read_bytes() == \
            (single / f"grades.skipped.{suffix}").read_bytes()
    assert all(p.is_dir() for p in partials)  # the inputs stay, to merge again


def test_a_shard_run_again_reuses_its_results(shards, classroom):
    folder, _ = shards
    manifest = json.loads((folder / "grades.csv.shard-2-of-3" / "shard.json").read_text())
    kept = sum("error" not in e for e in manifest["students"])  # graded: a report in the folder
    again = run_cli("batch", "exercise3", classroom, "--out", folder / "grades.csv", "--shard", "2/3",
                    "--course", ROOT)
    assert again.exit_code == 0, again.output
    assert kept and f" {kept} result{'s' if kept > 1 else ''} came from an earlier run of this shard" in again.stderr
    assert "Grading" not in again.stderr  # nobody graded again
    assert json.loads((folder / "grades.csv.shard-2-of-3" / "shard.json").read_text()) == manifest


def test_merge_refuses_a_missing_doubled_or_unfinished_shard(shards, tmp_path):
    folder, _ = shards
    p1, p2, p3 = (folder / f"grades.csv.shard-{i}-of-3" for i in (1, 2, 3))
    out = tmp_path / "g.csv"
    one_line_error(run_cli("merge", p1, p3, "--out", out), "shard 2/3 is missing",
                   f"(expected {p2}; it is there: give it too)")
    elsewhere = tmp_path / "elsewhere"  # shard 1's folder alone, as on a machine that graded only it
    shutil.copytree(p1, elsewhere / p1.name)
    one_line_error(run_cli("merge", elsewhere / p1.name, "--out", out), "shard 2/3, 3/3 are missing",
                   f"(expected {elsewhere / p2.name}, {elsewhere / p3.name}, from 'grade batch ... --shard I/N' "
                   "on the other machines)")
    one_line_error(run_cli("merge", p1, p2, p1, "--out", out), "are both shard 1/3")
    unfinished = tmp_path / "unfinished"
    shutil.copytree(p2, unfinished)
    (unfinished / "shard.json").unlink()
    one_line_error(run_cli("merge", p1, unfinished, p3, "--out", out), "did not finish", "again")
    one_line_error(run_cli("merge", p1, tmp_path / "nowhere", p3, "--out", out), "is not a folder")
    one_line_error(run_cli("merge", p1, p2, p3, "--out", tmp_path / "g.txt"), "must end in .csv or .json")
    changed = tmp_path / "changed"
    shutil.copytree(p2, changed)
    manifest = json.loads((changed / "shard.json").read_text())
    graded = next(e for e in manifest["students"] if "error" not in e)
    from grader.batch import StateDir

    StateDir.at(changed).file(graded["student_id"]).unlink()
    one_line_error(run_cli("merge", p1, changed, p3, "--out", out), graded["student_id"], "missing or was changed")
    assert not out.exists()


def test_merge_refuses_shards_of_different_course_versions(tmp_path):
    subs = exercise3_class(tmp_path / "subs", 4)
    other = copy_course(tmp_path / "course_v2", limits="limits: {call_seconds: 9, submission_seconds: 100}")
    out = tmp_path / "grades.csv"
    first = run_cli("batch", "exercise3", subs, "--out", out, "--shard", "1/2", "--jobs", 1, "--course", ROOT)
    second = run_cli("batch", "exercise3", subs, "--out", out, "--shard", "2/2", "--jobs", 1, "--course", other)
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    result = run_cli("merge", f"{out}.shard-1-of-2", f"{out}.shard-2-of-2", "--out", out)
    one_line_error(result, "different course versions", "grade every shard with the same course")
    assert not out.exists()


@pytest.mark.parametrize("spec", ["0/3", "4/3", "3", "a/b", "1/0"])
def test_a_bad_shard_is_one_line(spec, classroom, tmp_path):
    result = run_cli("batch", "exercise3", classroom, "--out", tmp_path / "g.csv", "--shard", spec, "--course", ROOT)
    one_line_error(result, f"--shard {spec}: expected I/N")


def test_help_shows_shards_merge_and_the_scheduler():
    batch = run_cli("batch", "--help").output
    assert "--shard I/N" in batch and "--scheduler ADDRESS" in batch and "grade merge" in batch
    merge = run_cli("merge", "--help").output
    assert "Example: grade merge grades.csv.shard-1-of-3" in merge
