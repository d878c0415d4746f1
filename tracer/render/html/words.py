"""The classroom page's own words, in English and Korean: its controls and the sentence of each step.

The diagram's labels come from the layout (`ipctrace.render.i18n`); these are
the words only the page says. `{name}` fields are filled in by `say`; the
page's script gets the `UI` words as they are.
"""

from __future__ import annotations

from ipctrace.render.options import Lang

#: What the page's controls and panels say (sent to the script as they are).
UI: dict[str, tuple[str, str]] = {
    "step": ("step", "단계"),
    "of": ("of", "/"),
    "prev": ("previous step (←)", "이전 단계 (←)"),
    "next": ("next step (→, space)", "다음 단계 (→, 스페이스)"),
    "first": ("first step (Home)", "첫 단계 (Home)"),
    "last": ("last step (End)", "마지막 단계 (End)"),
    "views": ("view", "보기"),
    "view_processes": ("processes", "프로세스"),
    "view_kernel": ("kernel", "커널"),
    "view_packets": ("packets", "패킷"),
    "exercise": ("exercise", "연습"),
    "exercise_on": (
        "exercise mode: payloads, results and printed lines are hidden",
        "연습 모드: 내용, 반환값, 출력이 숨겨짐",
    ),
    "presenter": ("presenter", "발표"),
    "theme": ("theme", "테마"),
    "theme_light": ("light", "밝게"),
    "theme_dark": ("dark", "어둡게"),
    "theme_print": ("print", "인쇄"),
    "lanes": ("lanes", "레인"),
    "shown": ("shown", "보임"),
    "collapsed": ("collapsed", "접힘"),
    "hidden": ("hidden", "숨김"),
    "hide_acks": ("hide pure ACKs", "순수 ACK 숨기기"),
    "search": ("search payloads", "내용 검색"),
    "matches": ("{n} matches", "{n}개 일치"),
    "no_match": ("no payload holds it", "일치하는 내용 없음"),
    "details": ("details", "자세히"),
    "details_hint": (
        "Click an arrow, a call, a bar or a packet: what it did, its bytes, and everything it depends on "
        "and influenced.",
        "화살표, 호출, 막대, 패킷을 누르면 자세한 내용과 그것의 원인·결과가 보입니다.",
    ),
    "call": ("call", "호출"),
    "args": ("arguments", "인자"),
    "result": ("returned", "반환값"),
    "error": ("failed", "실패"),
    "fd": ("descriptor", "디스크립터"),
    "refers": ("refers to", "가리키는 것"),
    "bytes": ("bytes", "바이트"),
    "text": ("as text", "텍스트"),
    "hex": ("as hex", "16진수"),
    "packets": ("carried by", "운반한 패킷"),
    "time": ("time", "시각"),
    "blocked": ("blocked for", "대기 시간"),
    "never_returned": ("never returned", "반환되지 않음"),
    "source": ("source", "소스"),
    "process": ("process", "프로세스"),
    "channel": ("channel", "채널"),
    "from": ("from", "보낸 쪽"),
    "to": ("to", "받은 쪽"),
    "unread": ("nobody read them", "아무도 읽지 않음"),
    "unsent": ("no traced process sent them", "추적된 송신자 없음"),
    "flags": ("flags", "플래그"),
    "shown_cap": ("first {n} bytes shown", "처음 {n}바이트만 표시"),
    "capped": ("the recorder kept {kept} of {n} bytes", "기록된 것은 {n}바이트 중 {kept}바이트"),
    "past": ("happened before it", "이전에 일어난 일 (원인)"),
    "future": ("it influenced", "영향을 받은 일 (결과)"),
    "causal": ("causal past and future", "인과 관계"),
    "clear": ("clear (Esc)", "지우기 (Esc)"),
    "hidden_value": ("hidden: click to reveal", "숨김: 눌러서 보기"),
    "reveal": ("reveal (r)", "보기 (r)"),
    "predict": (
        "Predict the next arrow: which lane gets it? Click that lane — or press → to see.",
        "다음 화살표를 예측해 보세요: 어느 레인으로 갈까요? 레인을 누르거나 →를 누르세요.",
    ),
    "predict_right": ("Right: it goes to {lane}.", "맞았습니다: {lane}(으)로 갑니다."),
    "predict_wrong": (
        "Not this time: it goes to {lane}, not {guess}.",
        "아닙니다: {guess}가 아니라 {lane}(으)로 갑니다.",
    ),
    "start_hint": (
        "{n} steps. → or space: next step · ←: back · Home / End · click anything for its story",
        "{n}단계. → 또는 스페이스: 다음 · ←: 이전 · Home / End · 무엇이든 누르면 자세히",
    ),
    "keys": (
        "keys: → ← space PgDn PgUp Home End · 1 2 3 views · x exercise · r reveal · p presenter · t theme · Esc clear",
        "키: → ← 스페이스 PgDn PgUp Home End · 1 2 3 보기 · x 연습 · r 보기 · p 발표 · t 테마 · Esc 지우기",
    ),
    "step_label": ("step {i} of {n}", "{n}단계 중 {i}단계"),
    "no_steps": ("nothing was recorded", "기록된 것이 없음"),
}

#: The sentence of each step. Values in `[...]` of a sentence are secrets in exercise mode (see `say`).
SAY: dict[str, tuple[str, str]] = {
    "starts": ("{who} starts", "{who} 시작"),
    "starts_cmd": ("{who} starts: {cmd}", "{who} 시작: {cmd}"),
    "exits": ("{who} ends: {how}", "{who} 끝: {how}"),
    "prints": ("{who} prints {text}", "{who} 출력: {text}"),
    "types": ("{who} reads the typed line {text}", "{who}이(가) 입력된 줄을 읽음: {text}"),
    "writes": ("{who} writes {n} bytes into {what}", "{who}이(가) {what}에 {n}바이트를 씀"),
    "sends": ("{who} sends {n} bytes on {what}", "{who}이(가) {what}(으)로 {n}바이트를 보냄"),
    "sends_to": ("{who} sends a {n}-byte datagram to {addr}", "{who}이(가) {addr}(으)로 {n}바이트 데이터그램을 보냄"),
    "unread_yet": ("nobody has read them yet", "아직 아무도 읽지 않음"),
    "unread_dgram": ("nobody has received it yet", "아직 아무도 받지 않음"),
    "reads": ("{who} reads {n} bytes from {what}", "{who}이(가) {what}에서 {n}바이트를 읽음"),
    "receives_from": (
        "{who} receives a {n}-byte datagram from {addr}",
        "{who}이(가) {addr}에서 {n}바이트 데이터그램을 받음",
    ),
    "written_by": ("that {sender} wrote", "{sender}이(가) 쓴 것"),
    "eof": (
        "{who} reads end of file from {what}: no write end is open any more",
        "{who}이(가) {what}에서 파일 끝(EOF)을 읽음: 열린 쓰기 끝이 없음",
    ),
    "waits": ("{who} calls {call} and waits", "{who}이(가) {call}을(를) 호출하고 기다림"),
    "waits_read": (
        "{who} calls {call} on {what} and waits: nothing to read yet",
        "{who}이(가) {what}에서 {call} 호출, 읽을 것이 없어 기다림",
    ),
    "waits_accept": (
        "{who} calls accept and waits for a client to connect",
        "{who}이(가) accept를 호출하고 클라이언트의 연결을 기다림",
    ),
    "waits_connect": (
        "{who} calls connect: its kernel sends SYN and waits for the answer",
        "{who}이(가) connect 호출: 커널이 SYN을 보내고 응답을 기다림",
    ),
    "waits_child": ("{who} waits for a child to end", "{who}이(가) 자식 프로세스가 끝나기를 기다림"),
    "sleeps": ("{who} sleeps {t} s", "{who}이(가) {t}초 잠듦"),
    "slept": ("{who} wakes up after {t}", "{who}이(가) {t} 후 깨어남"),
    "waited": ("it waited {t}", "{t} 기다림"),
    "forks": (
        "{who} forks: {child} starts as its copy, holding the same descriptors",
        "{who}이(가) fork: {child}이(가) 같은 디스크립터를 가진 복사본으로 시작",
    ),
    "creates": ("{who} creates {what}", "{who}이(가) {what}을(를) 만듦"),
    "socket": ("{who} creates a socket: fd {fd}", "{who}이(가) 소켓을 만듦: fd {fd}"),
    "binds": ("{who} binds {what} to {addr}", "{who}이(가) {what}을(를) {addr}에 바인딩"),
    "listens": ("{who} listens on {what}", "{who}이(가) {what}에서 연결을 기다리기 시작"),
    "accepts": ("{who} accepts a connection from {addr}: new fd {fd}", "{who}이(가) {addr}의 연결을 수락: 새 fd {fd}"),
    "connects": ("{who} connects to {addr}", "{who}이(가) {addr}에 연결"),
    "closes": ("{who} closes {what}", "{who}이(가) {what}을(를) 닫음"),
    "shuts": (
        "{who} shuts down {what} ({how}): it will send no more",
        "{who}이(가) {what}을(를) {how}로 닫음: 더 보내지 않음",
    ),
    "reaps": ("{who} reaps {child}: {how}", "{who}이(가) {child}을(를) 회수: {how}"),
    "reaps_none": ("{who} finds no child has ended yet", "{who}: 아직 끝난 자식이 없음"),
    "kills": ("{who} sends signal {sig} to {pid}", "{who}이(가) {pid}에 시그널 {sig}을(를) 보냄"),
    "fails": ("{who}'s {call} fails: {err}", "{who}의 {call} 실패: {err}"),
    "calls": ("{who} calls {sig}", "{who}: {sig}"),
    "never_returns": ("it is still waiting when the run ends", "실행이 끝날 때까지 기다림"),
    "handler": ("(inside its {sig} handler)", "({sig} 핸들러 안에서)"),
    "syn": ("{src} asks {dst} to open a TCP connection (SYN)", "{src}이(가) {dst}에 TCP 연결을 요청 (SYN)"),
    "synack": ("{src} agrees to open the connection (SYN, ACK)", "{src}이(가) 연결 요청을 수락 (SYN, ACK)"),
    "hs_ack": ("{src} confirms: the connection is open (ACK)", "{src}이(가) 확인: 연결이 열림 (ACK)"),
    "segment": (
        "a TCP segment carries {n} bytes from {src} to {dst} ({nums})",
        "TCP 세그먼트가 {src}에서 {dst}(으)로 {n}바이트를 운반 ({nums})",
    ),
    "ack": (
        "{src}'s kernel confirms it received the bytes before {ack} (ACK)",
        "{src}의 커널이 {ack} 이전 바이트 수신을 확인 (ACK)",
    ),
    "fin": ("{src} will send no more on this connection (FIN)", "{src}이(가) 이 연결로 더 보내지 않음 (FIN)"),
    "rst": ("{src} resets the connection (RST)", "{src}이(가) 연결을 재설정 (RST)"),
    "datagram": (
        "a UDP datagram carries {n} bytes from {src} to {dst}",
        "UDP 데이터그램이 {src}에서 {dst}(으)로 {n}바이트를 운반",
    ),
    "packet": ("a packet from {src} to {dst}", "{src}에서 {dst}(으)로 가는 패킷"),
}


def ui_words(lang: Lang) -> dict[str, str]:
    return {key: (ko if lang is Lang.KO else en) for key, (en, ko) in UI.items()}


#: A secret in a sentence: a segment the page hides in exercise mode. A sentence is a tuple of segments.
Secret = tuple[str]
Segment = str | Secret


def say(key: str, lang: Lang, **values: str | Secret) -> list[Segment]:
    """The sentence `key` with its fields filled in; a field given as `(text,)` stays a secret segment."""
    en, ko = SAY[key]
    template = ko if lang is Lang.KO else en
    out: list[Segment] = []
    rest = template
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, _, rest = after.partition("}")
        if before:
            out.append(before)
        value = values[name]
        out.append(value if isinstance(value, tuple) else str(value))
    if rest:
        out.append(rest)
    return _joined(out)


def _joined(segments: list[Segment]) -> list[Segment]:
    """Adjacent plain strings joined, so the script gets few segments."""
    out: list[Segment] = []
    for seg in segments:
        if isinstance(seg, str) and out and isinstance(out[-1], str):
            out[-1] += seg
        else:
            out.append(seg)
    return out


def then(first: list[Segment], *more: list[Segment], sep: str = "; ") -> list[Segment]:
    """Clauses joined into one sentence."""
    out = list(first)
    for clause in more:
        if clause:
            out.append(sep)
            out.extend(clause)
    return _joined(out)
