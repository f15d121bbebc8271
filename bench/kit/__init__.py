"""The benchmarks' library: what every script under ``bench/`` shares, so that no script imports another.

- ``paths``:    the repository, its recordings (``tests/data``) and ``bench/results``;
- ``errors``:   ``BenchError`` (stops a benchmark, exit 2) and ``SpeechError``;
- ``settings``: the device, compute type and thread count both sides of a comparison run on;
- ``audio``:    decoding, writing and synthesising recordings (16 kHz mono), a large WAV for uploads;
- ``speech``:   speech with a known text (real clips, espeak-ng paragraphs, long repeated recordings);
- ``wer``:      word error rate;
- ``engine``:   the engine in this process as the benchmarks load it (the shared model cache);
- ``modes``:    faster-whisper's decoding modes and their timed runs (``decoding.py``);
- ``server``:   a real ``transcriber serve`` process on a free port, and the API calls the rows make;
- ``memory``:   ``/proc/<pid>/status`` readers and the RSS sampler;
- ``load``:     how busy the rest of the machine was, measuring children, open-loop HTTP load, percentiles;
- ``machine``:  facts about this machine and renicing a process's threads;
- ``report``:   figures against a same-run baseline, the table rows print, results in ``bench/results/``;
- ``rows``:     the rows of ``bench/service.py`` (latency, upload, tasks, eta, cold).

Imports point one way, from the scripts into the kit and, inside it, from ``rows`` down to the modules
above it (none imports another in a cycle). Scripts are run as ``python bench/<name>.py`` and import
``kit.*``; from the repository's root the kit is ``bench.kit.*``, so its modules import each other
relatively.
"""
