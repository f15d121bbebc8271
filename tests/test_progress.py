"""Progress and ETA between real checkpoints (worker/progress.py), on an explicit clock."""

from __future__ import annotations

import pytest

from transcriber.worker.progress import OWN_SPEED_TRUST_SECONDS, ProgressEstimator


def test_without_any_speed_only_real_checkpoints_count() -> None:
    est = ProgressEstimator(duration=100.0, prior_speed=None, started=0.0)
    first = est.read(decoded=0.0, decoding=30.0, now=5.0)
    assert (first.progress, first.eta_seconds, first.estimated) == (0.0, None, False)
    real = est.read(decoded=30.0, decoding=30.0, now=10.0)  # 30 s of audio in 10 s: 3x
    assert (real.progress, real.estimated) == (0.3, False)
    assert real.eta_seconds == pytest.approx(70 / 3, abs=0.1)


def test_the_prior_speed_gives_an_eta_from_the_first_second() -> None:
    est = ProgressEstimator(duration=150.0, prior_speed=5.0, started=0.0)
    reading = est.read(decoded=0.0, decoding=30.0, now=0.0)
    assert reading.eta_seconds == 30.0
    assert reading.progress == 0.0
    later = est.read(decoded=0.0, decoding=30.0, now=2.0)  # 10 s of audio expected by now
    assert later.progress == pytest.approx(10 / 150)
    assert later.estimated
    assert later.eta_seconds == 28.0


def test_an_estimate_never_passes_the_step_under_way_and_never_goes_back() -> None:
    est = ProgressEstimator(duration=100.0, prior_speed=10.0, started=0.0)
    values = [est.read(decoded=0.0, decoding=20.0, now=t).progress for t in (0.0, 1.0, 2.0, 5.0, 9.0)]
    assert values == sorted(values)
    assert max(values) == pytest.approx(0.2), "capped at the end of the step under way"
    # The step ends later than expected, and the engine's checkpoint is exact again.
    real = est.read(decoded=20.0, decoding=60.0, now=10.0)
    assert (real.progress, real.estimated) == (0.2, False)
    # A checkpoint below what was shown (a window that ended early) does not move the bar back.
    est.read(decoded=20.0, decoding=60.0, now=12.0)
    behind = est.read(decoded=22.0, decoding=60.0, now=12.5)
    assert behind.progress >= real.progress
    assert behind.estimated


def test_the_own_speed_takes_over_as_audio_is_decoded() -> None:
    est = ProgressEstimator(duration=3600.0, prior_speed=2.0, started=0.0)
    est.read(decoded=OWN_SPEED_TRUST_SECONDS, decoding=100.0, now=OWN_SPEED_TRUST_SECONDS / 10)
    assert est.speed() == pytest.approx((10 + 2) / 2), "halfway between own 10x and the prior 2x"
    est.read(decoded=1000.0, decoding=1200.0, now=100.0)
    speed = est.speed()
    assert speed is not None
    assert 9.0 < speed < 10.0


def test_readings_stay_inside_the_recording() -> None:
    est = ProgressEstimator(duration=10.0, prior_speed=100.0, started=0.0)
    reading = est.read(decoded=50.0, decoding=80.0, now=1.0)
    assert (reading.progress, reading.eta_seconds, reading.estimated) == (1.0, 0.0, False)
    empty = ProgressEstimator(duration=0.0, prior_speed=1.0, started=0.0).read(decoded=0, decoding=0, now=1)
    assert empty.progress == 0.0
