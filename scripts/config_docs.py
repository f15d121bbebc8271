"""Regenerate the settings tables in docs/configuration.md from the settings' own definitions.

The tables sit between ``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->``; the prose
around them is written by hand. Recognition settings (``WHISPER_*``) are described in Russian with the
web UI's help texts (static/i18n.js, the one Russian source the settings page also shows); service
settings (``TRANSCRIBE_*``) with their field docstrings in config.py.

    python scripts/config_docs.py          # rewrite docs/configuration.md
    python scripts/config_docs.py --check  # exit 1 if it is stale (tests/test_docs.py runs this)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from transcriber.config import Settings
from transcriber.recognition import RecognitionSettings

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
I18N = ROOT / "src" / "transcriber" / "static" / "i18n.js"

CLI_OPTIONS = {
    "TRANSCRIBE_DATA_DIR": "`--data-dir`",
    "TRANSCRIBE_DATABASE_URL": "`--database-url`",
    "TRANSCRIBE_HOST": "`--host`",
    "TRANSCRIBE_PORT": "`--port`",
    "TRANSCRIBE_LOG_LEVEL": "`--log-level`",
    "TRANSCRIBE_WORKER__ENABLED": "`--no-worker`",
    "TRANSCRIBE_WORKER__SERVER_URL": "`worker --server`",
    "TRANSCRIBE_WORKER__STORAGE_DIR": "`worker --storage`",
    "TRANSCRIBE_WORKER__DEVICE": "`worker --device`",
    "TRANSCRIBE_WORKER__MODELS": "`worker --models`",
}

SERVICE_RU = {
    "TRANSCRIBE_DATA_DIR": "папка с базой, загрузками и моделями (относительно текущей папки)",
    "TRANSCRIBE_DATABASE_URL": "URL базы в формате SQLAlchemy; по умолчанию SQLite `<data-dir>/transcriber.db`",
    "TRANSCRIBE_HOST": "адрес; `0.0.0.0` — принимать соединения со всех машин",
    "TRANSCRIBE_PORT": "порт",
    "TRANSCRIBE_MODEL_CACHE_DIR": "кэш моделей; по умолчанию `<data-dir>/models`",
    "TRANSCRIBE_LOG_LEVEL": "`debug`, `info`, `warning`, `error`",
    "TRANSCRIBE_API_KEYS": "ключи API через запятую (`имя:ключ` или просто ключ, от 16 символов); см. security.md",
    "TRANSCRIBE_API_KEYS_FILE": "файл ключей, по одному `имя:ключ` в строке; перечитывается при изменении",
    "TRANSCRIBE_CORS_ORIGINS": "источники, которым можно обращаться к API из браузера (CORS); пусто — CORS выключен",
    "TRANSCRIBE_ALLOWED_HOSTS": "имена хоста, на которые сервис отвечает сверх `localhost`, имён машины и "
    "IP-адресов (защита от DNS rebinding); `*` — любое; см. security.md",
    "TRANSCRIBE_SESSION_HOURS": "сколько часов действует вход в веб-интерфейс",
    "TRANSCRIBE_WORKER__ENABLED": "запускать воркер вместе с `serve`; `false` — только API",
    "TRANSCRIBE_WORKER__CPU_THREADS": "потоки на CPU; `0` — по потоку на каждое доступное процессу ядро",
    "TRANSCRIBE_WORKER__HEARTBEAT_SECONDS": "как часто воркер сообщает, что жив",
    "TRANSCRIBE_WORKER__PROGRESS_SECONDS": "как часто сохраняются прогресс и уже найденные фразы (между контрольными точками движка сохраняется оценка)",
    "TRANSCRIBE_WORKER__CALIBRATE": "при загрузке модели, которую на этой машине ещё не измеряли, воркер один раз расшифровывает встроенный 11-секундный фрагмент, чтобы ETA было уже у первой задачи (секунда-две на CPU)",
    "TRANSCRIBE_WORKER__STALE_AFTER_SECONDS": "задачу, от которой столько секунд нет сигнала, берут заново",
    "TRANSCRIBE_WORKER__CANCEL_GRACE_SECONDS": "сколько ждать остановки отменённой задачи, прежде чем "
    "перезапустить воркер",
    "TRANSCRIBE_WORKER__POLL_SECONDS": "как часто свободный воркер проверяет очередь (на PostgreSQL с "
    "`LISTEN` — сколько самое большее ждёт уведомления, прежде чем всё равно проверить)",
    "TRANSCRIBE_WORKER__LISTEN": "на PostgreSQL свободный воркер ждёт уведомления о новой задаче "
    "(`LISTEN`/`NOTIFY`) и берёт её сразу, а не при следующей проверке очереди; `false` — только "
    "проверки. На SQLite воркер всегда проверяет очередь по таймеру",
    "TRANSCRIBE_WORKER__FORGET_AFTER_SECONDS": "воркер, от которого столько секунд нет сигнала, "
    "исчезает из списка воркеров (`/health`, веб-интерфейс); через `STALE_AFTER_SECONDS` он уже "
    "показан как «не отвечает», а его задача возвращена в очередь",
    "TRANSCRIBE_WORKER__NICE": "пониженный приоритет процесса воркера (0 — обычный), чтобы API отвечал быстро "
    "во время расшифровки",
    "TRANSCRIBE_WORKER__RESTART_BACKOFF_SECONDS": "первая пауза перед перезапуском упавшего воркера; "
    "удваивается при частых падениях (до 60 с)",
    "TRANSCRIBE_WORKER__SERVER_URL": "воркер на другой машине: адрес API (`http://stt-host:8000`), у которого он "
    "скачивает звук каждой задачи по HTTP в кэш в своей папке данных, вместо чтения папки загрузок; пусто — звук "
    "читается из папки загрузок; см. operations.md",
    "TRANSCRIBE_WORKER__API_KEY": "ключ API, который шлёт воркер с `TRANSCRIBE_WORKER__SERVER_URL` (один из ключей "
    "`TRANSCRIBE_API_KEYS` сервиса); нужен, если у API есть ключи; в журнал не пишется",
    "TRANSCRIBE_WORKER__MODELS": 'модели, которые этот воркер может запускать (JSON-список `["base", "small"]`; в `worker --models` — через запятую); '
    "первая — для задач, в которых модель не указана, что бы ни было в `WHISPER_MODEL` и сохранённых настройках. "
    "Задачу с другой моделью возьмёт воркер, которому она разрешена. Пусто — любая модель. Оставьте хотя бы "
    "одному воркеру пустой список: задача с моделью, которую не может запустить ни один воркер, ждёт в очереди",
    "TRANSCRIBE_WORKER__AFFINITY_SECONDS": "сколько задача для другой модели ждёт воркер, у которого эта модель уже "
    "загружена, прежде чем её возьмёт по очереди любой подходящий воркер (без перезагрузок моделей туда-обратно)",
    "TRANSCRIBE_WORKER__PREFER_SHORT_SECONDS": "больше 0: этот воркер берёт задачи не длиннее стольких секунд "
    "звука раньше длинных, чтобы при нескольких воркерах короткий звонок не ждал за многочасовыми записями "
    "(например, 600 у одного из воркеров); 0 — по порядку",
    "TRANSCRIBE_WORKER__DEVICE": "устройство этого воркера, что бы ни было в настройках: `cpu`, `cuda`, `cuda:N` "
    "(N-я видеокарта, с 0) или `auto`; так несколько воркеров на одной машине занимают каждый свою видеокарту. "
    "Пусто — `WHISPER_DEVICE` на видеокарте номер `WHISPER_DEVICE_INDEX` (по умолчанию 0)",
    "TRANSCRIBE_WORKER__STORAGE_DIR": "воркер на другой машине с общей папкой: папка загрузок сервиса, подключённая "
    "на этой машине; пусто — `<data-dir>/uploads`",
    "TRANSCRIBE_LIMITS__MAX_UPLOAD_BYTES": "самая большая загрузка (2 ГиБ); больше — 413",
    "TRANSCRIBE_LIMITS__MAX_JSON_BYTES": "самое большое тело запроса, кроме загрузки (настройки, задачи: JSON; "
    "1 МиБ); больше — 413",
    "TRANSCRIBE_LIMITS__HEADER_TIMEOUT_SECONDS": "соединение, заголовки которого не пришли за это время, "
    "закрывается",
    "TRANSCRIBE_LIMITS__BODY_IDLE_TIMEOUT_SECONDS": "запрос, тело которого перестало приходить на это время, "
    "получает 408",
    "TRANSCRIBE_LIMITS__MAX_DURATION_SECONDS": "самая длинная принимаемая запись (12 ч); длиннее — 413",
    "TRANSCRIBE_LIMITS__MAX_SAMPLES_PER_SECOND": "бюджет декодирования одной записи: частота "
    "дискретизации × число каналов (по умолчанию 8 каналов по 192 кГц); вместе с длительностью "
    "ограничивает работу декодера; более плотный поток — 415 `audio_too_dense`",
    "TRANSCRIBE_LIMITS__MAX_PENDING_TASKS": "сколько задач может ждать в очереди; больше — 429 с `Retry-After`",
    "TRANSCRIBE_LIMITS__MIN_FREE_DISK_BYTES": "загрузка отклоняется (507), если на диске останется меньше",
    "TRANSCRIBE_WEBHOOKS__SECRET": "секрет подписи уведомлений, `whsec_…` (сделать: `transcriber webhook-secret`); без "
    "него уведомления не отправляются, а `callback_url` задачи отклоняется",
    "TRANSCRIBE_WEBHOOKS__URL": "куда сообщать о каждой задаче, если она не назвала свой `callback_url`",
    "TRANSCRIBE_WEBHOOKS__ALLOWED_HOSTS": "хосты, на которые можно слать уведомления: имена и сети CIDR "
    '(`["1c.example.local", "192.168.10.0/24"]`); пусто — только хост из `TRANSCRIBE_WEBHOOKS__URL`',
    "TRANSCRIBE_WEBHOOKS__TIMEOUT_SECONDS": "сколько ждать ответа получателя на одну попытку; переадресации не выполняются",
    "TRANSCRIBE_WEBHOOKS__RETRY_HOURS": "сколько часов повторять неподтверждённое уведомление (5 с, 30 с, 2 мин, "
    "10 мин, 30 мин, дальше раз в 1–4 часа)",
    "TRANSCRIBE_OPENAI__KEEPALIVE_SECONDS": "OpenAI-совместимый ответ в JSON, не готовый за это время, начинается "
    "(статус 200) и поддерживается пробелом раз в столько секунд; ошибка после этого приходит в теле",
    "TRANSCRIBE_OPENAI__MAX_WAIT_SECONDS": "сколько запрос `/v1/audio/...` ждёт свою задачу; потом 504 с номером "
    "задачи, а задача продолжает выполняться в очереди",
    "TRANSCRIBE_LIMITS__IDEMPOTENCY_HOURS": (
        "сколько часов хранится первый ответ на запрос с заголовком `Idempotency-Key`: повтор с тем же "
        "ключом получает ту же задачу или загрузку, а не вторую"
    ),
    "TRANSCRIBE_METRICS__ENABLED": "отдавать метрики Prometheus на `GET /metrics` (с ключом API, если ключи заданы)",
    "TRANSCRIBE_METRICS__BIND": "ещё и отдельный адрес `host:port` с теми же метриками БЕЗ ключа "
    "(для Prometheus в сети мониторинга); пусто — нет",
}
"""Russian descriptions of the service settings; ``--check`` fails when a setting has none."""


def ui_help_texts() -> dict[str, str]:
    """``help.WHISPER_*`` texts of the Russian dictionary (the first one in i18n.js)."""
    source = I18N.read_text(encoding="utf-8")
    russian = source[: source.index("const en = {")]
    return {
        key: json.loads(f'"{text}"')
        for key, text in re.findall(r'"help\.(WHISPER_[A-Z_]+)": "((?:[^"\\]|\\.)*)"', russian)
    }


def one_line(text: str | None) -> str:
    return " ".join((text or "").split()).replace("``", "`").replace("|", "\\|")


def code(value: Any) -> str:
    if value is None:
        return "не задано"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "пусто" if not value else f"`{json.dumps(value)}`"
    if value == "":
        return "пусто"
    if isinstance(value, Path):
        return f"`{value.as_posix()}`"
    return f"`{value}`"


def allowed(info: FieldInfo) -> str:
    annotation = info.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return ", ".join(f"`{choice}`" for choice in typing.get_args(annotation))
    bounds = []
    for meta in info.metadata:
        if isinstance(meta, Ge):
            bounds.append(f"≥ {meta.ge}")
        elif isinstance(meta, Gt):
            bounds.append(f"> {meta.gt}")
        elif isinstance(meta, Le):
            bounds.append(f"≤ {meta.le}")
        elif isinstance(meta, Lt):
            bounds.append(f"< {meta.lt}")
        elif isinstance(meta, MaxLen):
            bounds.append(f"до {meta.max_length} символов")
    kind = type_name(annotation)
    return ", ".join([kind, *bounds]) if bounds else kind


def type_name(annotation: Any) -> str:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        names = [type_name(a) for a in typing.get_args(annotation) if a is not type(None)]
        return " / ".join(names)
    names = {int: "целое", float: "число", bool: "`true`/`false`", str: "строка", Path: "путь"}
    if annotation in names:
        return names[annotation]
    if typing.get_origin(annotation) is list:
        return "JSON-список строк"
    return getattr(annotation, "__name__", str(annotation)).replace("SecretStr", "строка (секрет)")


def recognition_table() -> str:
    help_ru = ui_help_texts()
    rows = ["| ключ | по умолчанию | допустимо | что это |", "| --- | --- | --- | --- |"]
    for info in RecognitionSettings.model_fields.values():
        key = str(info.alias)
        rows.append(
            f"| `{key}` | {code(info.default)} | {allowed(info)} | {one_line(help_ru.get(key) or info.description)} |"
        )
    return "\n".join(rows)


def service_fields(model: type[BaseModel], prefix: str) -> list[tuple[str, FieldInfo]]:
    found = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += service_fields(annotation, f"{prefix}{name.upper()}__")
        else:
            found.append((f"{prefix}{name.upper()}", info))
    return found


def service_table() -> str:
    rows = [
        "| переменная | опция | по умолчанию | допустимо | что это | in English |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    fields = service_fields(Settings, "TRANSCRIBE_")
    missing = [env for env, _ in fields if env not in SERVICE_RU]
    if missing:
        raise SystemExit(f"scripts/config_docs.py: add a Russian description to SERVICE_RU for {missing}")
    for env, info in fields:
        option = CLI_OPTIONS.get(env, "—")
        rows.append(
            f"| `{env}` | {option} | {code(info.default)} | {allowed(info)} | {SERVICE_RU[env]} "
            f"| {one_line(info.description)} |"
        )
    return "\n".join(rows)


TABLES = {"recognition": recognition_table, "service": service_table}


def render(text: str) -> str:
    for name, build in TABLES.items():
        pattern = re.compile(
            rf"(<!-- BEGIN GENERATED: {name} -->\n)(?:.*?\n)?(<!-- END GENERATED: {name} -->)", re.DOTALL
        )
        if not pattern.search(text):
            raise SystemExit(f"{DOC}: the markers for the {name!r} table are missing")
        text = pattern.sub(lambda m, table=build(): m.group(1) + table + "\n" + m.group(2), text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the file is up to date")
    args = parser.parse_args()
    current = DOC.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{DOC.relative_to(ROOT)} is stale: run python scripts/config_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
