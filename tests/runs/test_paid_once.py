"""Paid once, whatever happens (issue 22): a paid answer is never thrown away, a non-UTF-8 sidecar
is read as unreadable (never a crash), and parked answers are counted, shown and delivered."""

from __future__ import annotations

import gaia
from gaia.folder import Folder
from gaia.media.scan import scan_folder
from gaia.runs.batch import submit
from gaia.runs.failures import failures, plan_retry
from gaia.runs.recorder import UNWRITTEN_DIR, parked_answers
from gaia.runs.recovery import plan_submission
from gaia.runs.retrieve import retrieve, watch
from gaia.settings import RunSettings
from gaia.sidecar import read_sidecar, sidecar_state

LATIN1 = b'{"note": "caf\xe9"}\n'  # valid JSON bytes, not UTF-8


def test_a_non_utf8_sidecar_is_unreadable_not_a_crash(tmp_path):
    video = tmp_path / "a.mp4"
    video.write_bytes(b"x")
    (tmp_path / "a.gaia.json").write_bytes(LATIN1)
    assert sidecar_state(video) == "unreadable"
    try:
        read_sidecar(video)
    except gaia.SidecarError as exc:
        assert "UTF-8" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("read_sidecar accepted a non-UTF-8 file")


def test_scan_keeps_a_non_utf8_sidecar(make_folder):
    folder = make_folder({"a.mp4": "testsrc"})
    (folder / "a.gaia.json").write_bytes(LATIN1)
    result = scan_folder(folder)
    (record,) = result.records
    assert record.sidecar_state == "unreadable"
    assert (folder / "a.gaia.json").read_bytes() == LATIN1


def test_a_paid_answer_meeting_a_non_utf8_sidecar_is_parked_shown_and_delivered(tmp_path, fake_ksets,
                                                                               anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"], frames=1)
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    watch(folder, anthropic_client, poll_s=0.1, retrieve_results=False)
    (folder / "b.gaia.json").write_bytes(LATIN1)  # appears while the batch runs
    first = retrieve(folder, anthropic_client)
    assert first.written == 1 and first.failed == 1
    assert (folder / "b.gaia.json").read_bytes() == LATIN1  # kept as it was
    (kept,) = parked_answers(Folder(folder))
    assert kept.rel_path == "b.mp4" and "UTF-8" in kept.reason and kept.analysis
    assert len(list((folder / ".gaia" / UNWRITTEN_DIR).glob("*.json"))) == 1
    (folder / "b.gaia.json").unlink()  # the cause is gone: retrieve delivers, nothing is paid again
    again = retrieve(folder, anthropic_client)
    assert again.delivered == 1 and read_sidecar(folder / "b.mp4")["analysis"]
    assert not parked_answers(Folder(folder))
    assert len(list(anthropic_client.messages.batches.list())) == 1


def test_a_video_replaced_between_submit_and_retrieve_gets_its_answer_parked(tmp_path, fake_ksets,
                                                                            anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"], frames=1)
    (folder / "b.mp4").write_bytes(b"the clip that was analysed" * 100)
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    (folder / "b.mp4").write_bytes(b"another clip entirely, under the same name" * 50)
    watch(folder, anthropic_client, poll_s=0.1)
    assert read_sidecar(folder / "a.mp4") and not (folder / "b.gaia.json").exists()
    (kept,) = parked_answers(Folder(folder))
    assert kept.rel_path == "b.mp4" and "replaced" in kept.reason
    (fail,) = failures(folder)
    assert "replaced" in fail.reason
    assert retrieve(folder, anthropic_client).delivered == 0  # still another video: never written
    assert not (folder / "b.gaia.json").exists()


def test_status_and_retrieve_show_parked_answers_and_retry_does_not_pay_for_them(tmp_path, fake_ksets, api_env,
                                                                                 anthropic_client, capsys):
    from gaia._cli import main
    from gaia.views.progress import parked_view

    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"], frames=1)
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    watch(folder, anthropic_client, poll_s=0.1, retrieve_results=False)
    (folder / "b.gaia.json").write_bytes(LATIN1)
    main(["retrieve", str(folder)])
    assert "1 paid answer(s) are kept" in capsys.readouterr().out
    main(["status", str(folder), "--offline"])
    assert "b.mp4: " in capsys.readouterr().out
    view = parked_view(folder)
    assert view.count == 1 and view.records[0]["video"] == "b.mp4"
    assert plan_retry(folder) == []  # delivered by retrieve, never bought again


def _distinct(folder, names):
    for i, n in enumerate(names):
        (folder / n).write_bytes(f"video {i} ".encode() * (200 + i))


def _renamed(ksets, old, new, folder):
    from dataclasses import replace

    return [replace(k, rel_path=new, video=folder / new) if k.rel_path == old else k for k in ksets]


def test_a_video_renamed_after_its_analysis_is_matched_not_paid_again(tmp_path, fake_ksets, anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"], frames=1)
    _distinct(folder, ["a.mp4", "b.mp4"])
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    watch(folder, anthropic_client, poll_s=0.1)
    before = read_sidecar(folder / "b.mp4")["analysis"]
    (folder / "b.mp4").rename(folder / "c.mp4")
    plan = plan_submission(folder, RunSettings(), keyframe_sets=_renamed(ksets, "b.mp4", "c.mp4", folder),
                             client=anthropic_client)
    assert not plan.requests  # matched by content: not paid again
    assert read_sidecar(folder / "c.mp4")["analysis"] == before


def test_a_video_renamed_while_its_batch_runs_gets_its_answer_under_the_new_name(tmp_path, fake_ksets,
                                                                                anthropic_client):
    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4", "b.mp4"], frames=1)
    _distinct(folder, ["a.mp4", "b.mp4"])
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    (folder / "b.mp4").rename(folder / "sub-c.mp4")
    watch(folder, anthropic_client, poll_s=0.1)
    assert read_sidecar(folder / "sub-c.mp4")["analysis"] and not (folder / "b.gaia.json").exists()
    plan = plan_submission(folder, RunSettings(), keyframe_sets=_renamed(ksets, "b.mp4", "sub-c.mp4", folder),
                             client=anthropic_client)
    assert not plan.requests and not parked_answers(Folder(folder)) and not failures(folder)
    assert len(list(anthropic_client.messages.batches.list())) == 1


def test_a_video_gaia_rewrote_itself_keeps_its_answer(tmp_path, fake_ksets, anthropic_client):
    from gaia.runs.renames import reidentify

    folder = tmp_path / "v"
    ksets = fake_ksets(folder, ["a.mp4"], frames=1)
    _distinct(folder, ["a.mp4"])
    assert submit(folder, plan_submission(folder, RunSettings(), keyframe_sets=ksets), anthropic_client).ok
    with open(folder / "a.mp4", "ab") as fh:  # metadata embedded in place (gaia export --format xmp --embed)
        fh.write(b"<xmp/>")
    assert reidentify(folder, "a.mp4")["size"] == (folder / "a.mp4").stat().st_size
    watch(folder, anthropic_client, poll_s=0.1)
    assert read_sidecar(folder / "a.mp4")["analysis"] and not parked_answers(Folder(folder))


def test_estimate_and_exports_keep_going_past_a_non_utf8_sidecar(make_folder, tmp_path, capsys):
    from gaia._cli import main

    folder = make_folder({"a.mp4": "testsrc", "b.mp4": "testsrc"})
    (folder / "b.gaia.json").write_bytes(LATIN1)
    assert main(["estimate", str(folder)]) == 0
    for fmt in ("csv", "jsonl"):
        code = main(["export", str(folder), "--format", fmt, "--out", str(tmp_path / f"out.{fmt}")])
        out = capsys.readouterr()
        assert code in (0, 1) and "Traceback" not in out.err, out.err
    assert (folder / "b.gaia.json").read_bytes() == LATIN1


def test_a_failure_a_later_submission_answered_is_not_retried(demo, api_env, anthropic_client, capsys):
    """Every request of a batch fails; the user submits the folder again (the failed videos are not analysed, so
    they are planned again) and those answers come back. The old failures no longer wait for a retry: `gaia retry`
    sends nothing, and the API answered each video once."""
    from gaia._cli import main
    from tests.runs.test_cascade_batch import _sent, _wait_for_batches

    api_env.update_config(errored_rate=1.0)
    assert main(["submit", str(demo), "--yes"]) == 0
    _wait_for_batches(anthropic_client)
    main(["retrieve", str(demo)])
    videos = sorted(r.rel_path for r in scan_folder(demo).records if r.usable)
    assert sorted(f.rel_path for f in failures(demo)) == videos
    api_env.update_config(errored_rate=0.0)
    assert main(["submit", str(demo), "--yes"]) == 0  # the same videos, sent again as a new submission
    _wait_for_batches(anthropic_client)
    assert main(["retrieve", str(demo)]) == 0
    assert failures(demo) == [] and plan_retry(demo) == []
    capsys.readouterr()
    assert main(["retry", str(demo), "--yes"]) == 0
    assert "Nothing to retry" in capsys.readouterr().out
    answered = [k for k, n in _sent(demo, anthropic_client).items() for _ in range(n)]
    assert sorted(v for v, _ in answered) == sorted(videos * 2)  # the failed attempt and the answer, no third
    assert all(read_sidecar(demo / v)["analysis"] for v in videos)
