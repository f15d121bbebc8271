"""Speech with a known text for the benchmarks: real recordings from ``tests/data/``, speech that
``espeak-ng`` reads from fixed paragraphs written for this purpose (so the reference is exact), and long
recordings made by repeating the real clips.

Every set is written as a 16 kHz mono WAV (or, for the long recordings, an MP3) and passed to the engine
as a path, as the service does.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transcriber.decoding import SAMPLE_RATE

from .audio import decode_mono_16k, repeat_to_length, synthesise, write_mp3, write_wav
from .errors import BenchError, SpeechError
from .paths import AUDIO_DIR

RECORDINGS = ("multilingual.mp3", "jfk.flac")  # what build_audio() concatenates
GAP_SECONDS = 0.5  # silence between concatenated clips, so words of two clips never run together
LONG_GAP_SECONDS = 1.0  # silence after each clip of a long recording
LONG_CACHE = Path(tempfile.gettempdir()) / "transcriber-bench-long-audio"
LONG_BIT_RATE = 32_000

ESPEAK_TEXT = (
    "This recording was produced by a speech synthesiser for a benchmark of a transcription service. "
    "The service accepts an uploaded file, puts a task into a queue, and a separate worker process "
    "turns the speech into text with a Whisper model. The question this benchmark answers is simple: "
    "how much slower is the whole path through the web service than calling the engine directly? "
    "Uploading, storing the file, writing progress to the database and polling for the result all "
    "take some time, and that time should stay small next to the recognition itself. "
    "Numbers such as twenty three, one hundred and five, and two thousand and twenty four are read "
    "aloud as words. The weather was cold and clear, the train left the station at seven in the "
    "morning, and the passengers read their newspapers in silence until the first stop."
)

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


# -- about N minutes of speech (no reference text needed) -----------------------------------------------


def build_audio(minutes: float, work: Path) -> tuple[Path, str]:
    """A WAV of about ``minutes`` of speech: the shared recordings, or espeak-ng as a fallback."""
    sources = [AUDIO_DIR / name for name in RECORDINGS]
    if all(p.is_file() for p in sources):
        origin = " + ".join(RECORDINGS) + f" from {AUDIO_DIR}"
    elif shutil.which("espeak-ng"):
        sources = [synthesise(ESPEAK_TEXT, "en-us", work / "espeak.wav", 155)]
        origin = "English text synthesised by espeak-ng"
    else:
        raise BenchError(
            f"no speech to benchmark: {AUDIO_DIR} (with {', '.join(RECORDINGS)}) is absent and "
            "espeak-ng is not installed; pass a recording with --audio FILE"
        )
    samples = repeat_to_length([decode_mono_16k(p) for p in sources], minutes * 60, GAP_SECONDS)
    return write_wav(work / f"speech-{minutes:g}min.wav", samples), origin


# -- long recordings with a known text ------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    path: Path
    seconds: float
    period_seconds: float
    period_text: str

    def reference(self, seconds: float) -> str:
        """The reference text of the whole periods that fit in the first ``seconds``."""
        whole = int(seconds // self.period_seconds + 1e-9)
        return " ".join([self.period_text] * whole)


def period() -> tuple[np.ndarray, str]:
    gap = np.zeros(int(LONG_GAP_SECONDS * SAMPLE_RATE), dtype=np.int16)
    clips = real_clips()
    pcm = np.concatenate([part for _, clip, _ in clips for part in (clip, gap)])
    return pcm, " ".join(text for _, _, text in clips)


def build_recording(minutes: float) -> Recording:
    """Whole repetitions of the real clips, about ``minutes`` long, as an MP3 cached in ``LONG_CACHE``."""
    pcm, text = period()
    period_seconds = len(pcm) / SAMPLE_RATE
    count = max(1, round(minutes * 60 / period_seconds))
    path = LONG_CACHE / f"speech-{count}x{len(pcm)}.mp3"
    if not path.is_file():
        LONG_CACHE.mkdir(parents=True, exist_ok=True)
        write_mp3(path, pcm, repeat=count, bit_rate=LONG_BIT_RATE)
    return Recording(path, count * period_seconds, period_seconds, text)
