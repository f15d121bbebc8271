"""Speech with known text for the benchmarks: real recordings from ``tests/data/`` and speech that
``espeak-ng`` reads from fixed paragraphs written for this purpose (so the reference is exact).

Every set is written as a 16 kHz mono WAV into a work directory and passed to the engine as a path, as
the service does. Used by ``decoding.py`` and ``long_audio.py``; not a benchmark by itself.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transcriber.pieces import SAMPLE_RATE, pcm_blocks

REPO = Path(__file__).resolve().parents[2]
AUDIO_DIR = REPO / "tests" / "data"  # the repository's own recordings (tests/data/SOURCES.md)

JFK_TEXT = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)

# multilingual.mp3 reads the MIT licence in English (0-29 s), then in German (from 30.1 s). The reader
# skips the parenthesis (the "Software"); Whisper tiny and base both agree on that, so it is left out.
MIT_ENGLISH_SECONDS = 29.6
MIT_ENGLISH_TEXT = (
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and "
    "associated documentation files, to deal in the Software without restriction, including without "
    "limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell "
    "copies of the Software, and to permit persons to whom the Software is furnished to do so, subject "
    "to the following conditions: The above copyright notice and this permission notice shall be "
    "included in all copies or substantial portions of the Software."
)

# Written for this benchmark (no third-party text); numbers are spelled out, as the speaker reads them.
ENGLISH_TEXT = (
    "The town by the river woke slowly on the first cold morning of the autumn. A thin mist lay over the "
    "water, and the fishing boats waited at the old wooden pier until the sun was high enough to burn it "
    "away. In the market square the baker opened his shutters and set out bread, rolls and small honey "
    "cakes, while the flower seller arranged buckets of late roses beside the fountain. "
    "Most people in the town worked at the paper mill on the northern bank. The mill had been built by "
    "a family of engineers more than a century ago, and its tall brick chimney could be seen from every "
    "street. Each morning a long line of workers crossed the iron bridge, talking about the weather, the "
    "football results and the price of coal. "
    "The school stood at the top of the hill. Its teachers believed that children learn best when they "
    "are allowed to ask questions, so every lesson began with a puzzle written on the blackboard. On "
    "this particular morning the puzzle was about a farmer who had to carry a fox, a goose and a bag of "
    "grain across a river in a boat that could hold only one of them at a time. "
    "Down at the station the morning train arrived a few minutes late. A young woman with a heavy "
    "suitcase stepped onto the platform and looked around, unsure of where to go. She had come to work "
    "as a nurse at the small hospital near the park, and she had never been so far from home before. "
    "The station master pointed the way and offered to carry her case as far as the corner. "
    "By noon the mist had gone and the river shone like a sheet of glass. The fishermen came back with "
    "their nets full, and the cafe by the pier filled with the smell of fried fish and strong coffee. "
    "An old man sat alone at a table by the window, reading a newspaper and writing notes in the margins "
    "with a pencil. He had been the captain of a cargo ship for forty years, and he still rose every day "
    "before dawn to watch the boats leave the harbour. "
    "In the evening the wind turned to the west and brought rain from the hills. The streets emptied, "
    "the lamps came on one by one, and the town settled down for the night, ready to begin again "
    "tomorrow."
)

# Written for this benchmark; no numbers and no letter yo, so the reference spelling is unambiguous.
RUSSIAN_TEXT = (
    "Осенью в нашем городе рано темнеет, и люди спешат домой сразу после работы. На главной улице "
    "зажигаются фонари, в окнах магазинов появляются тыквы и яблоки, а на остановках стоят усталые "
    "пассажиры с зонтами. "
    "Моя бабушка живет на окраине, в старом деревянном доме с большим садом. Каждую субботу я приезжаю к "
    "ней на автобусе, и мы вместе пьем чай с малиновым вареньем. Она рассказывает о своей молодости, о "
    "том, как работала учительницей в сельской школе и как зимой дети приходили на уроки на лыжах. "
    "Прошлой весной мы посадили в саду новые яблони и кусты смородины. Летом было много солнца, поэтому "
    "урожай получился хорошим. Бабушка сварила варенье, а часть яблок мы отвезли соседям и друзьям. "
    "Вечером мы сидим у окна, смотрим на дождь и слушаем радио. Иногда по радио передают старые песни, и "
    "бабушка тихо подпевает. Мне нравятся эти спокойные вечера, потому что в городе всегда шумно, а здесь "
    "слышно только ветер и стук капель по крыше."
)


@dataclass(frozen=True)
class SpeechSet:
    """One recording with its reference text; ``language`` None means detect it, as the service does."""

    name: str
    path: Path
    reference: str
    language: str | None
    seconds: float
    origin: str


class SpeechError(Exception):
    """Audio or a synthesiser the benchmark needs is missing."""


# -- audio ----------------------------------------------------------------------------------------------


def decode_mono_16k(path: Path) -> np.ndarray:
    """The whole file as 16 kHz mono int16 samples."""
    blocks = list(pcm_blocks(path))
    if not blocks:
        raise SpeechError(f"no audio could be decoded from {path}")
    return np.concatenate(blocks).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


def synthesise(text: str, voice: str, target: Path, words_per_minute: int = 150) -> Path:
    """Read ``text`` aloud with espeak-ng into ``target`` (a WAV at espeak's own rate)."""
    if not shutil.which("espeak-ng"):
        raise SpeechError("espeak-ng is not installed (apt-get install espeak-ng)")
    command = ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(target), text]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not target.is_file():
        raise SpeechError(f"espeak-ng failed: {done.stderr.strip() or done.returncode}")
    return target


# -- the sets -------------------------------------------------------------------------------------------


def real_clips() -> list[tuple[str, np.ndarray, str]]:
    """(name, 16 kHz int16 samples, reference) of the real English speech in ``tests/data``."""
    jfk, mit = AUDIO_DIR / "jfk.flac", AUDIO_DIR / "multilingual.mp3"
    if not (jfk.is_file() and mit.is_file()):
        raise SpeechError(f"{AUDIO_DIR} with jfk.flac and multilingual.mp3 is needed")
    english = decode_mono_16k(mit)[: int(MIT_ENGLISH_SECONDS * SAMPLE_RATE)]
    return [("jfk", decode_mono_16k(jfk), JFK_TEXT), ("mit-en", english, MIT_ENGLISH_TEXT)]


def build_sets(work: Path, *, russian: bool = True) -> list[SpeechSet]:
    """The benchmark set: two real English clips, an English and (optionally) a Russian espeak-ng text."""
    sets = [
        SpeechSet(name, write_wav(work / f"{name}.wav", pcm), text, None, len(pcm) / SAMPLE_RATE, "real")
        for name, pcm, text in real_clips()
    ]
    # espeak-ng's Russian is hard for Whisper base; its default pace (170) was the most intelligible.
    synthetic: list[tuple[str, str, str, str | None, int]] = [("espeak-en", ENGLISH_TEXT, "en-us", None, 150)]
    if russian:
        synthetic.append(("espeak-ru", RUSSIAN_TEXT, "ru", "ru", 170))
    for name, text, voice, language, pace in synthetic:
        raw = synthesise(text, voice, work / f"{name}-raw.wav", pace)
        pcm = decode_mono_16k(raw)
        path = write_wav(work / f"{name}.wav", pcm)
        sets.append(SpeechSet(name, path, text, language, len(pcm) / SAMPLE_RATE, f"espeak-ng -v {voice}"))
    return sets
