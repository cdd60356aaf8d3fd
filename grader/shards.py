"""A class split over machines: `grade batch --shard I/N` grades a part, `grade merge` joins them.

A student belongs to one shard, chosen by rendezvous hashing of the student id: for each
shard j of N, hash (j, id); the shard with the highest hash holds the student. Nothing but
the id and N decides it, so every machine computes the same split from its own copy of
the submissions folder; a student added to the class moves nobody, and going from N to
N+1 shards moves only the students the new shard takes (about 1 in N+1).

A shard run keeps its results where a whole-class run keeps them while it works: the
state folder, one file per graded student (grader.batch.StateDir), here named
`<out>.shard-I-of-N/` and kept, with `shard.json` written last: which students the shard
holds, the rows of those who could not be graded, and what the whole class looked like
(its size, a hash of its ids and skipped entries, the setup hash). `grade merge` reads the
N folders, checks they are the N shards of one class graded with one course version, and
writes the gradebook from the reports alone: the same bytes as a single-machine run.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError

MANIFEST = "shard.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Shard:
    index: int   # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def suffix(self) -> str:
        """The state folder's suffix: grades.csv -> grades.csv.shard-2-of-3/."""
        return f".shard-{self.index}-of-{self.count}"

    def holds(self, student_id: str) -> bool:
        return shard_of(student_id, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """'2/3' -> Shard(2, 3); a GraderError that says what is expected otherwise."""
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not found or not 1 <= int(found[1]) <= int(found[2]):
        raise GraderError(f"--shard {text}: expected I/N with 1 <= I <= N, e.g. --shard 2/3 "
                          "(the second of three shards)")
    return Shard(int(found[1]), int(found[2]))


def shard_of(student_id: str, count: int) -> int:
    """The shard (1..count) that holds `student_id`: rendezvous (highest random weight) hashing."""
    key = student_id.encode("utf-8", "surrogatepass")
    return max(range(1, count + 1),
               key=lambda j: hashlib.blake2b(b"%d\0" % j + key, digest_size=8).digest())


def class_digest(roster) -> str:
    """What every shard must have seen alike: the class's student ids and skipped entries."""
    data = [[s.id for s in roster.students], [[s.entry, s.reason] for s in roster.skipped]]
    return hashlib.sha256(json.dumps(data).encode("utf-8", "surrogatepass")).hexdigest()


def write_manifest(state, shard: Shard, exercise_id: str, setup: str, roster, rows: list[dict]) -> Path:
    """`shard.json` in the shard's state folder, written last: the shard is complete."""
    from grader.files import write_atomic

    manifest = {
        "manifest_version": MANIFEST_VERSION, "shard": [shard.index, shard.count], "exercise": exercise_id,
        "setup_sha256": setup, "class_size": len(roster.students), "class_sha256": class_digest(roster),
        "skipped": [[s.entry, s.reason] for s in roster.skipped], "warnings": list(roster.warnings),
        # a graded student's report is in the state folder; the others' rows are here
        "students": [{"student_id": e["student_id"], "submission_sha256": e["submission_sha256"]}
                     if "report" in e else e for e in rows],
    }
    path = state.path / MANIFEST
    write_atomic(path, json.dumps(manifest).encode())
    return path


def merge(partials: list[Path], out: Path):
    """Join the shard folders of one class into the gradebook `out` (.csv or .json)."""
    from grader import batch

    started = time.monotonic()
    out = Path(out)
    batch.check_out(out)
    if not partials:
        raise GraderError("no shard folders given; e.g. grade merge grades.csv.shard-*-of-3 --out grades.csv")
    shards = [(Path(p), _manifest(Path(p))) for p in partials]
    first_path, first = shards[0]
    for path, m in shards[1:]:
        _same_class(first_path, first, path, m)
    _all_shards(shards)
    rows = []
    for path, m in shards:
        state = batch.StateDir.at(path)
        for item in m["students"]:
            rows.append(item if "error" in item else _kept(state, path, item, m["setup_sha256"]))
    rows.sort(key=lambda e: e["student_id"])  # the roster's order: grader.roster sorts by id
    if len(rows) != first["class_size"]:
        raise GraderError(f"the shards hold {len(rows)} students, the class {first['class_size']}; "
                          "grade every shard again from the same submissions folder")
    from grader.roster import Skipped

    skipped = tuple(Skipped(entry, reason) for entry, reason in first["skipped"])
    skipped_file = batch.write_gradebook(out, rows, skipped)
    graded = [e["report"]["score"] for e in rows if "report" in e]
    unclear = sum("report" not in e and not e["submission_sha256"] for e in rows)  # never graded
    return batch.BatchSummary(
        out=out, students=len(rows), failed=len(rows) - len(graded) - unclear, reused=0,
        mean_score=sum(graded) / len(graded) if graded else 0.0, max_score=_max_score(rows),
        seconds=time.monotonic() - started, jobs=0, skipped=skipped, warnings=tuple(first["warnings"]),
        skipped_file=skipped_file, merged=len(shards),
        not_graded=unclear + sum(bool(e["report"].get("problem")) for e in rows if "report" in e))


def _manifest(path: Path) -> dict:
    if not path.is_dir():
        raise GraderError(f"{path} is not a folder; give the shard folders that 'grade batch ... --shard I/N' "
                          "writes (OUT.shard-I-of-N)")
    try:
        m = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GraderError(f"{path} holds no {MANIFEST}: its shard did not finish (or it is not a shard "
                          "folder); run that shard's 'grade batch ... --shard I/N' again to complete it") from None
    except (OSError, ValueError) as exc:
        raise GraderError(f"{path / MANIFEST} cannot be read ({exc}); run that shard again") from None
    if not isinstance(m, dict) or m.get("manifest_version") != MANIFEST_VERSION:
        raise GraderError(f"{path / MANIFEST} was written by another version of the grader; "
                          "grade that shard again with this one")
    return m


def _same_class(first_path: Path, first: dict, path: Path, m: dict) -> None:
    if m["setup_sha256"] != first["setup_sha256"] or m["exercise"] != first["exercise"]:
        raise GraderError(
            f"{path} and {first_path} were graded with different course versions (setup "
            f"{m['setup_sha256'][:12]} vs {first['setup_sha256'][:12]}: tests, reference, limits or "
            "grader differ); grade every shard with the same course and grader, then merge")
    if m["shard"][1] != first["shard"][1]:
        raise GraderError(f"{path} is one of {m['shard'][1]} shards, {first_path} one of {first['shard'][1]}; "
                          "merge the shards of one split")
    if m["class_sha256"] != first["class_sha256"]:
        raise GraderError(f"{path} and {first_path} were graded from different submissions folders (other "
                          "students or entries); grade every shard from the same copy of the folder")


def _all_shards(shards: list) -> None:
    count = shards[0][1]["shard"][1]
    seen: dict[int, Path] = {}
    for path, m in shards:
        index = m["shard"][0]
        if index in seen:
            raise GraderError(f"{seen[index]} and {path} are both shard {index}/{count}; give each shard once")
        seen[index] = path
    missing = [i for i in range(1, count + 1) if i not in seen]
    if missing:
        raise GraderError(f"shard {', '.join(f'{i}/{count}' for i in missing)} "
                          f"{'is' if len(missing) == 1 else 'are'} missing: merge all {count} shards"
                          + _where(shards[0][0], missing, count))


def _where(given: Path, missing: list[int], count: int) -> str:
    """Where the missing shards' folders would be when they were kept as the given one
    was (`grades.csv.shard-1-of-3` -> ` (expected grades.csv.shard-2-of-3 ...)`), or ''."""
    match = re.fullmatch(rf"(.+)\.shard-\d+-of-{count}", given.name)
    if not match:
        return ""
    folders = [given.with_name(f"{match[1]}.shard-{i}-of-{count}") for i in missing]
    here = [f for f in folders if f.is_dir()]
    return (f" (expected {', '.join(str(f) for f in folders)}"
            + ("; it is there: give it too" if len(here) == len(folders) == 1 else
               "; they are there: give them too" if len(here) == len(folders) else
               ", from 'grade batch ... --shard I/N' on the other machines") + ")")


def _kept(state, path: Path, item: dict, setup: str) -> dict:
    entry = state.load(item["student_id"])
    if not entry or (entry["submission_sha256"], entry["setup_sha256"]) != (item["submission_sha256"], setup):
        raise GraderError(f"{path}: the result of {item['student_id']!r} is missing or was changed after "
                          "the shard finished; run that shard's command again")
    return entry


def _max_score(rows: list[dict]) -> float:
    for e in rows:
        return float(e["report"]["max_score"] if "report" in e else e["max_score"])
    return 0.0
