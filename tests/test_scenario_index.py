"""`ipctrace list`'s rows, kept between runs: the same rows as reading the files, and never stale."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ipctrace.arguments import HELP, command_parser
from ipctrace.scenario_index import BUILTIN_DIR, cache_path, scenario_rows
from ipctrace.scenarios import ScenarioError, builtin_scenarios, list_rows


def _rows_read_now(folder: Path | None = None) -> list[tuple]:
    from ipctrace.scenarios import scenarios_in

    found = scenarios_in(folder) if folder is not None else builtin_scenarios()
    return [(n, s.source, s.lesson, s.outcomes, s.has_c_original) for n, s in found.items()]


@pytest.fixture(autouse=True)
def bytecode_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """As after a normal install: Python writes its caches (this machine's shell sets PYTHONDONTWRITEBYTECODE)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three of the course examples' files in a folder of their own."""
    here = tmp_path / "scenarios"
    here.mkdir()
    for name in ("pipe3", "tcp_chat", "udp_file_done"):
        shutil.copy(BUILTIN_DIR / f"{name}.toml", here)
    return here


def test_the_course_examples_rows_are_what_their_files_say(tmp_path: Path) -> None:
    cache = tmp_path / "list.marshal"
    reads: list[Path] = []

    def read(folder: Path) -> list:
        reads.append(folder)
        return list_rows(folder)

    assert scenario_rows(read, BUILTIN_DIR, cache) == _rows_read_now()  # read from the files, cache written
    assert cache.is_file() and reads == [BUILTIN_DIR]
    assert scenario_rows(read, BUILTIN_DIR, cache) == _rows_read_now()  # from the cache
    assert reads == [BUILTIN_DIR]


def test_a_changed_added_or_removed_file_is_read_again(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "list.marshal"
    first = scenario_rows(list_rows, folder, cache)
    assert [row[0] for row in first] == ["pipe3", "tcp_chat", "udp_file_done"] and cache.is_file()
    chat = folder / "tcp_chat.toml"
    text = chat.read_text(encoding="utf-8")
    chat.write_text(text.replace('lesson = "', 'lesson = "Changed. ', 1), encoding="utf-8")
    stat = chat.stat()  # the same size would do too: the modification time is in the stamp
    os.utime(chat, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = scenario_rows(list_rows, folder, cache)
    assert dict((r[0], r[2]) for r in changed)["tcp_chat"].startswith("Changed. ")
    assert changed == _rows_read_now(folder)
    (folder / "pipe3.toml").unlink()
    shutil.copy(BUILTIN_DIR / "pipe1.toml", folder)
    assert [row[0] for row in scenario_rows(list_rows, folder, cache)] == ["pipe1", "tcp_chat", "udp_file_done"]


def test_a_damaged_cache_is_ignored_and_written_again(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "list.marshal"
    cache.write_bytes(b"\x00not marshal data")
    assert scenario_rows(list_rows, folder, cache) == _rows_read_now(folder)
    assert scenario_rows(list_rows, folder, cache) == _rows_read_now(folder)
    assert cache.read_bytes() != b"\x00not marshal data"


def test_a_broken_file_is_the_same_sentence_every_time(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "list.marshal"
    scenario_rows(list_rows, folder, cache)
    (folder / "broken.toml").write_text('name = "broken"\nroles = 3\n', encoding="utf-8")
    for _ in range(2):  # never cached
        with pytest.raises(ScenarioError, match="broken.toml"):
            scenario_rows(list_rows, folder, cache)


def test_nothing_is_written_when_python_writes_no_bytecode(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    cache = tmp_path / "list.marshal"
    assert scenario_rows(list_rows, folder, cache) == _rows_read_now(folder)
    assert not cache.exists()


def test_the_cache_lives_where_python_keeps_bytecode(tmp_path: Path) -> None:
    assert cache_path(tmp_path).parent == tmp_path / "__pycache__"
    prefix = tmp_path / "prefix"
    code = f"import sys; sys.pycache_prefix = {str(prefix)!r}; from ipctrace.scenario_index import cache_path; "
    code += f"print(cache_path(__import__('pathlib').Path({str(tmp_path)!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert Path(out).is_relative_to(prefix) and Path(out).parent == prefix / tmp_path.resolve().relative_to("/")


def test_list_prints_the_same_with_and_without_the_cache(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache"), "COLUMNS": "100"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [sys.executable, "-m", "ipctrace", "list"]
    uncached = subprocess.run(
        command, capture_output=True, text=True, check=True, env={**env, "PYTHONDONTWRITEBYTECODE": "1"}
    )
    first = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    assert list((tmp_path / "pycache").rglob("list.*.marshal"))  # written by the first run
    cached = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    assert uncached.stdout == first.stdout == cached.stdout
    assert "tcp_chat " in cached.stdout


def test_each_command_built_alone_has_the_options_of_the_whole_parser() -> None:
    whole = command_parser()
    for name in HELP:
        alone = command_parser(name)
        assert alone.format_help() == whole.format_help()
        assert _command(alone, name).format_help() == _command(whole, name).format_help()


def _command(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return commands.choices[name]


def test_a_course_examples_data_is_kept_while_its_file_is_unchanged(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tomllib

    from ipctrace import scenario_index
    from ipctrace.scenarios import load_scenario

    monkeypatch.setattr(scenario_index, "BUILTIN_DIR", folder.resolve())
    chat = folder / "tcp_chat.toml"
    parsed: list[Path] = []

    def parse(path: Path) -> dict:
        parsed.append(path)
        return tomllib.loads(path.read_text(encoding="utf-8"))

    first = scenario_index.scenario_data(chat, parse)
    assert first == tomllib.loads(chat.read_text(encoding="utf-8")) and parsed == [chat]
    assert scenario_index.cache_path(folder, chat.name).is_file()
    assert scenario_index.scenario_data(chat, parse) == first and parsed == [chat]  # from the cache
    chat.write_text(chat.read_text(encoding="utf-8").replace('title = "', 'title = "New: ', 1), encoding="utf-8")
    assert scenario_index.scenario_data(chat, parse)["title"].startswith("New: ") and len(parsed) == 2
    assert load_scenario(chat).title.startswith("New: ")
    elsewhere = folder.parent / "mine.toml"  # a user's own file is never cached
    shutil.copy(chat, elsewhere)
    scenario_index.scenario_data(elsewhere, parse)
    scenario_index.scenario_data(elsewhere, parse)
    assert parsed[-2:] == [elsewhere, elsewhere]
