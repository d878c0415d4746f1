"""The words on a diagram, in English and Korean (`lang="ko"`), and the font check Korean needs.

The course notes are Korean, so a lecturer can label a diagram in the words
of the notes (부모 프로세스, 자식 프로세스, 파이프, ...). Only the diagram's
own words are translated; payloads, call names and errno names stay as the
program and the kernel wrote them.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from ipctrace.render.base import RenderError

_WORDS: dict[str, tuple[str, str]] = {
    # lanes
    "process": ("process", "프로세스"),
    "parent": ("parent process", "부모 프로세스"),
    "child": ("child process", "자식 프로세스"),
    "child_of": ("child of {parent}", "{parent}의 자식"),
    "child_n_of": ("child #{n} of {parent}", "{parent}의 자식 #{n}"),
    "server": ("server", "서버"),
    "client": ("client", "클라이언트"),
    "main": ("main", "main"),
    "pipe": ("pipe", "파이프"),
    "socketpair": ("socketpair", "소켓 쌍"),
    "unix": ("Unix socket", "유닉스 소켓"),
    "tcp": ("TCP connection", "TCP 연결"),
    "udp": ("UDP", "UDP"),
    "unix-dgram": ("Unix datagrams", "유닉스 데이터그램"),
    "kernel": ("kernel", "커널"),
    "in_kernel": ("in the kernel", "커널 안"),
    "socket": ("socket", "소켓"),
    "server_socket": ("server socket", "서버 소켓"),
    "client_socket": ("client socket", "클라이언트 소켓"),
    "listening": ("listening", "연결 대기"),
    # ends and waits
    "exit": ("exit {code}", "종료 {code}"),
    "killed": ("killed by {sig}", "{sig}로 종료됨"),
    "ended": ("ended", "종료"),
    "still_running": ("still running at the end", "끝까지 실행 중"),
    "still_blocked": ("still blocked when the run ended", "실행이 끝날 때까지 대기"),
    "waited": ("waited {t}", "{t} 대기"),
    "never_read": ("never read", "읽히지 않음"),
    "unknown_sender": ("from an untraced sender", "추적되지 않은 송신자"),
    "eof": ("EOF", "EOF (파일 끝)"),
    "connect": ("connect → accept", "connect → accept (연결)"),
    "fork": ("fork()", "fork()"),
    "spawn": ("starts", "실행"),
    "loop": ("loop × {n}", "반복 × {n}"),
    "loop_detail": ("{n} times: {what}", "{n}번: {what}"),
    "bytes_total": ("{b} in all", "모두 {b}"),
    "held": ("{b} waiting in the {what}", "{what}에 {b} 대기"),
    "page": ("page {i} of {n}", "{n}쪽 중 {i}쪽"),
    "continued": ("continued", "계속"),
    "typed": ("typed", "입력"),
    # legend
    "legend": ("Legend", "범례"),
    "legend_msg": ("message: payload (bytes)", "메시지: 내용 (바이트)"),
    "legend_kernel": ("into / out of the kernel", "커널로 / 커널에서"),
    "legend_packet": ("packet on the wire", "전송된 패킷"),
    "legend_wait": ("blocked in a call", "블로킹 호출 (대기)"),
    "legend_sleep": ("sleep()", "sleep() (잠자기)"),
    "legend_open": ("still blocked at the end", "끝까지 대기"),
    "legend_note": ("printed / typed lines", "출력 / 입력된 줄"),
    "legend_error": ("failed call (errno)", "실패한 호출 (errno)"),
    "legend_fork": ("fork, connect, EOF", "fork, 연결, EOF"),
    "legend_loop": ("repeated exchange, folded", "반복된 교환 (접힘)"),
    "time_flows_down": ("time flows down", "시간은 위에서 아래로"),
    "view_processes": ("processes view", "프로세스 보기"),
    "view_kernel": ("kernel view", "커널 보기"),
    "view_packets": ("packets view", "패킷 보기"),
}


def tr(key: str, lang: str = "en", **values: object) -> str:
    """The word or phrase `key` in `lang`, with `{name}` fields filled in."""
    en, ko = _WORDS[key]
    text = ko if lang == "ko" else en
    return text.format(**values) if values else text


def role_word(role: str, lang: str) -> str:
    """A role as the notes call it: `server` → 서버 in Korean; other names unchanged."""
    if role in ("server", "client"):
        return tr(role, lang)
    return role


def lane_names(role: str, pid: int, has_children: bool, lang: str = "en") -> tuple[str, str]:
    """A process lane's title and subtitle: (`child of main`, `child process · pid 4313`)."""
    parts = role.split("/")
    if len(parts) > 1 and parts[-1].startswith("child#"):
        n = parts[-1].removeprefix("child#")
        parent = role_word("/".join(parts[:-1]).replace("/child#", " child#"), lang)
        title = tr("child_of", lang, parent=parent) if n == "1" else tr("child_n_of", lang, n=n, parent=parent)
        kind = tr("child", lang)
    else:
        title = role_word(role, lang)
        kind = tr("parent", lang) if has_children else tr("process", lang)
    return title, f"{kind} · pid {pid}"


def duration(nanos: int, lang: str = "en") -> str:
    """A wait as people say it: 3.0 s, 12 ms, 85 µs."""
    seconds = nanos / 1e9
    if seconds >= 1:
        text = f"{seconds:.1f} s"
    elif seconds >= 1e-3:
        text = f"{seconds * 1e3:.0f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.1f} ms"
    else:
        text = f"{seconds * 1e6:.0f} µs"
    return text


@lru_cache(maxsize=1)
def korean_font() -> str | None:
    """The family name of an installed font with Hangul, preferring Nanum Gothic; None when there is none."""
    if shutil.which("fc-list") is None:
        return None
    try:
        out = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families = [line.split(",")[0].strip() for line in out.splitlines() if line.strip()]
    for preferred in ("NanumGothic", "NanumBarunGothic", "NanumSquare", "Noto Sans CJK KR", "UnDotum"):
        if preferred in families:
            return preferred
    return families[0] if families else None


def require_korean_font() -> str:
    """The Korean font to draw with, or a RenderError saying how to install one."""
    font = korean_font()
    if font is None:
        raise RenderError(
            "no font with Korean (Hangul) glyphs is installed, so --lang ko would draw empty boxes: "
            "install one with `apt-get install fonts-nanum` (check with `fc-list :lang=ko`)."
        )
    return font
