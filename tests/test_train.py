"""The training stages end to end at toy length: data shards, VAE, latent cache, UNet, export, load, render."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL
from typer.testing import CliRunner

from videogen.cli import app
from videogen.errors import UsageError
from videogen.eval.evaluate import EvalSettings
from videogen.models.registry import load_pipeline
from videogen.train.data import ClipStore, counterfactual_pairs, render_shards, shard_ids
from videogen.models.denoiser import CameraUNet3D
from videogen.models.text_encoder import MAX_PROMPT_TOKENS, encode_text, load_minilm
from videogen.train.denoiser import (NUM_TRAIN_TIMESTEPS, Batches, builtin_denoiser, camera_sensitivity,
                                     noisy_context, snr_weight, spread_evenly, train_denoiser, training_scheduler,
                                     training_timesteps, warm_start)
from videogen.train.export import evaluate_run, export_builtin, export_decoder
from videogen.train.loop import CHECKPOINT, save_checkpoint, start_run
from videogen.train.vae import (DISCRIMINATOR, PatchDiscriminator, added_channel_rotation, builtin_vae, cache_latents,
                                grow_latent_channels, pair_crops, reconstruction_loss, shifted_latent_batch, train_vae)
from videogen.world import Scene, changed_attributes, training_vocabulary
from videogen.world.captions import PHRASES


def test_train_stages_resume_export_and_render(tmp_path):
    data = tmp_path / "data"
    render_shards(data, num_clips=4, num_frames=8, size=128, shard_size=2, log=lambda line: None)
    assert shard_ids(data) == [0, 1]
    first_shard = (data / "clips_00000.npy").read_bytes()
    render_shards(data, num_clips=4, num_frames=8, size=128, shard_size=2, log=lambda line: None)  # resumes: nothing redone
    assert (data / "clips_00000.npy").read_bytes() == first_shard

    vae = train_vae(str(data), str(tmp_path / "vae"), steps=2, batch=2, crop=32, log_every=1, checkpoint_every=1)
    progress = []
    scaling = cache_latents(str(data), vae, log=progress.append)
    assert progress == ["shard 0: 2 clips encoded", "shard 1: 2 clips encoded"]
    vae.save_pretrained(tmp_path / "vae" / "vae")
    store = ClipStore.load(data, with_latents=True)
    assert store.latents.shape == (4, 8, 4, 16, 16) and np.isfinite(scaling)
    assert abs(float(store.latents.astype(np.float32).std()) - 1) < 0.05  # scaled to unit variance
    vae.register_to_config(scaling_factor=2 * scaling)  # new data for a trained model keeps the model's factor
    assert cache_latents(str(data), vae, keep_scaling=True, log=progress.append) == 2 * scaling
    assert abs(float(ClipStore.load(data, with_latents=True).latents.astype(np.float32).std()) - 2) < 0.1
    vae.register_to_config(scaling_factor=scaling)
    cache_latents(str(data), vae, log=progress.append)

    tuned = train_vae(str(data), str(tmp_path / "decoder"), steps=2, batch=2, crop=128, init=str(tmp_path / "vae" / "vae"),
                      decoder_only=True, edge_weight=0.5, shift_share=0.5, log_every=1, checkpoint_every=1)
    assert "shifted_psnr" in json.loads((tmp_path / "decoder" / "log.jsonl").read_text().splitlines()[-1])
    for name, weight in vae.state_dict().items():  # the encoder (so the cached latents) is untouched
        assert torch.equal(weight, tuned.state_dict()[name]) == (not name.startswith(("decoder.", "post_quant_conv."))), name

    latents, captions, motion = Batches(store, seed=0).draw(3, 4)
    assert latents.shape == (3, 4, 4, 16, 16) and motion.shape == (3, 4, 4, 16, 16) and len(captions) == 3

    fresh = builtin_denoiser().eval()  # its camera weights start at zero: the camera input is inert
    losses = camera_sensitivity(fresh, store, timesteps=(500,), clips=2)[500]
    assert losses["true"] == losses["zeroed"] == losses["negated"]
    with torch.no_grad():
        fresh.conv_in.weight[:, -1].fill_(0.5)  # now it reads the displacement to frame 0
    losses = camera_sensitivity(fresh, store, timesteps=(500,), clips=2)[500]
    assert losses["true"] != losses["zeroed"] != losses["negated"]

    run = tmp_path / "denoiser"
    for steps in (2, 3):  # the second call resumes at step 2 and does one more
        train_denoiser(str(data), str(tmp_path / "vae" / "vae"), str(run), steps=steps, clips_per_batch=1, images_per_batch=2,
                       log_every=1, preview_every=0)
    assert [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()] == [1, 2, 3]
    assert (run / CHECKPOINT).exists()
    quick = EvalSettings(num_frames=2, size=64, steps=2, limit=4, judge_check=12)
    report = evaluate_run(str(run), str(tmp_path / "vae" / "vae"), quick, camera_shift=0.5)  # `train denoiser` ends so
    assert report["model"] == str(run / "model") and list(report["sources"]) == ["floor", "model", "vae_ceiling", "ceiling"]
    assert json.loads((run / "model" / "model_index.json").read_text())["_training_steps"] == 3
    assert "| Prompt adherence" in (run / "eval" / "report.md").read_text()
    evaluated = load_pipeline(str(run / "model")).denoiser.state_dict()
    train_denoiser(str(data), str(tmp_path / "vae" / "vae"), str(tmp_path / "longer"), steps=1, clips_per_batch=1,
                   images_per_batch=2, preview_every=0, init=str(run / "model" / "denoiser"))
    export_builtin(str(tmp_path / "longer"), str(tmp_path / "vae" / "vae"), run / "model")  # new weights, same folder
    reloaded = load_pipeline(str(run / "model")).denoiser.state_dict()  # loaded again, not the cached pipeline
    assert not all(torch.equal(weight, reloaded[name]) for name, weight in evaluated.items())

    model = export_builtin(str(run), str(tmp_path / "vae" / "vae"), tmp_path / "landscapes", camera_shift=0.5)
    index = json.loads((model / "model_index.json").read_text())
    assert index["_training_steps"] == 3 and "text_encoder" not in index and index["vocabulary"] == training_vocabulary()
    assert load_pipeline(str(model)).config.default_camera_shift == 0.5
    assert load_pipeline(str(model)).read_prompt("an aquarelle of hills")[0] != "an aquarelle of hills"  # it reads its words
    export_decoder(str(tmp_path / "decoder" / "vae"), model)  # the decoder fine-tune replaces the VAE, denoiser kept
    shipped_vae = AutoencoderKL.from_pretrained(model / "vae").state_dict()  # not load_pipeline: it caches the model
    assert all(torch.equal(weight.half(), shipped_vae[name].half()) for name, weight in tuned.state_dict().items())
    builtin_vae().save_pretrained(tmp_path / "other")  # a fresh encoder: the denoiser would not fit it
    with pytest.raises(UsageError, match="has another encoder than"):
        export_decoder(str(tmp_path / "other"), model)
    resumed = train_denoiser(str(data), str(tmp_path / "vae" / "vae"), str(tmp_path / "again"), steps=0, init=str(model / "denoiser"))
    shipped = load_pipeline(str(model)).denoiser.state_dict()
    assert all(torch.equal(weight.half(), shipped[name].half()) for name, weight in resumed.state_dict().items())
    deeper = tmp_path / "deeper"
    train_denoiser(str(data), str(tmp_path / "vae" / "vae"), str(deeper), steps=1, clips_per_batch=1, images_per_batch=2,
                   log_every=1, preview_every=0, init=str(model / "denoiser"), layers_per_block=2)
    resumed = train_denoiser(str(data), str(tmp_path / "vae" / "vae"), str(deeper), steps=2, clips_per_batch=1,
                             images_per_batch=2, log_every=1, preview_every=0)  # neither --init nor the depth again
    assert resumed.config.layers_per_block == 2
    assert [json.loads(line)["step"] for line in (deeper / "log.jsonl").read_text().splitlines()] == [1, 2]
    pipe = load_pipeline(str(model))
    pipe.set_progress_bar_config(disable=True)
    frames = pipe("a lake at dusk", num_frames=2, num_inference_steps=2, seed=0, camera="pan_left:0.3").frames
    assert frames.shape == (1, 2, 128, 128, 3) and np.isfinite(frames).all()


class PoolingEncoder:
    """A stand-in VAE whose latents are 8x8 block means of the picture, so a latent warp and a picture warp can be
    compared directly."""

    device = torch.device("cpu")

    def encode(self, images):
        return SimpleNamespace(latent_dist=SimpleNamespace(mean=torch.nn.functional.avg_pool2d(images, 8)))


def test_shifted_latents_and_targets_move_together():
    """shifted_latent_batch warps the latents and the target pictures by the same move: the target's block means
    match the shifted latents far better than they match the unmoved frame."""
    rows, columns = np.mgrid[0:128, 0:128] / 128
    rng = np.random.default_rng(0)
    frames = [np.stack([np.sin(2 * np.pi * (a * columns + b * rows) + phase) for phase in rng.uniform(0, 6, 3)], -1)
              for a, b in rng.uniform(0.5, 2, (4, 2))]  # smooth pictures, so block means commute with the warp
    clips = np.round((np.stack(frames)[None] + 1) * 127.5).astype(np.uint8)  # (1, 4, 128, 128, 3)
    latents, targets = shifted_latent_batch(PoolingEncoder(), clips, count=12, rng=np.random.default_rng(1))
    assert latents.shape == (12, 3, 16, 16) and targets.shape == (12, 3, 128, 128)
    pooled_targets = torch.nn.functional.avg_pool2d(targets, 8)
    moved = (latents - pooled_targets).abs().mean()
    unmoved = min((torch.nn.functional.avg_pool2d(torch.from_numpy(frame).permute(2, 0, 1).float()[None] / 127.5 - 1, 8)
                   - pooled_targets).abs().mean() for frame in clips[0])
    assert moved < 0.25 * unmoved, (moved, unmoved)


def test_shift_share_needs_a_decoder_fine_tune_on_whole_frames(tmp_path):
    data = tmp_path / "data"
    render_shards(data, num_clips=2, num_frames=2, size=128, shard_size=2, log=lambda line: None)
    with pytest.raises(ValueError, match="needs decoder_only"):
        train_vae(str(data), str(tmp_path / "vae"), steps=1, batch=2, crop=128, shift_share=0.5)
    with pytest.raises(ValueError, match="needs whole frames"):
        train_vae(str(data), str(tmp_path / "vae"), steps=1, batch=2, crop=32, decoder_only=True, shift_share=0.5)


def test_adversarial_decoder_fine_tune_trains_saves_and_resumes_its_discriminator(tmp_path):
    """`adversarial_weight` trains a PatchGAN beside the decoder, logs its loss, keeps it beside the checkpoint and
    trains it further when the run resumes; the encoder stays as it was."""
    assert PatchDiscriminator()(torch.zeros(2, 3, 128, 128)).shape == (2, 1, 15, 15)  # one logit per 46 px patch
    data = tmp_path / "data"
    render_shards(data, num_clips=4, num_frames=2, size=128, shard_size=4, log=lambda line: None)
    builtin_vae(widths=(32, 32, 32, 32)).save_pretrained(tmp_path / "vae")
    settings = dict(batch=2, crop=None, init=str(tmp_path / "vae"), decoder_only=True, adversarial_weight=0.5,
                    log_every=1, checkpoint_every=1)
    train_vae(str(data), str(tmp_path / "decoder"), steps=1, **settings)
    first = torch.load(tmp_path / "decoder" / DISCRIMINATOR)["model"]
    tuned = train_vae(str(data), str(tmp_path / "decoder"), steps=2, **settings)
    records = [json.loads(line) for line in (tmp_path / "decoder" / "log.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records] == [1, 2] and all(record["discriminator_loss"] > 0 for record in records)
    resumed = torch.load(tmp_path / "decoder" / DISCRIMINATOR)["model"]
    assert not all(torch.equal(weight, resumed[name]) for name, weight in first.items())  # step 2 updated the step-1 one
    original = AutoencoderKL.from_pretrained(tmp_path / "vae")
    assert all(torch.equal(weight, original.encoder.state_dict()[name]) for name, weight in tuned.encoder.state_dict().items())


def test_decoder_fine_tune_bad_input_is_one_error_line_and_no_run_folder(tmp_path):
    builtin_vae(widths=(32, 32, 32, 32)).save_pretrained(tmp_path / "vae")
    result = CliRunner().invoke(app, ["train", "decoder", "--data", str(tmp_path / "data"), "--vae", str(tmp_path / "vae"),
                                      "--out", str(tmp_path / "decoder"), "--adversarial-weight", "-1"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "adversarial weight: got -1; it must be 0 or more" in result.output
    assert not (tmp_path / "decoder").exists()
    result = CliRunner().invoke(app, ["train", "decoder", "--data", str(tmp_path / "data"), "--vae", str(tmp_path / "vae"),
                                      "--out", str(tmp_path / "decoder")])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert f"data: no rendered shards in {tmp_path / 'data'}" in result.output
    assert not (tmp_path / "decoder").exists()


def test_unet_follows_a_new_vae_with_more_latent_channels(tmp_path):
    """A VAE with 8 latent channels (`videogen train vae`, both phases): the UNet trained on it gets 8 channels,
    warm-started from a 4-channel UNet (every weight kept; conv_in reads the old channels alone and conv_out predicts
    the new ones as the VAE grows them, a rotation of the old predictions), and the exported model renders."""
    data = tmp_path / "data"
    render_shards(data, num_clips=2, num_frames=8, size=128, shard_size=2, log=lambda line: None)
    result = CliRunner().invoke(app, ["train", "vae", "--data", str(data), "--out", str(tmp_path / "vae"), "--steps", "1",
                                      "--batch", "2", "--whole-frame-steps", "1", "--latent-channels", "8",
                                      "--widths", "32,64,64,96"])
    assert result.exit_code == 0, result.output
    assert torch.load(tmp_path / "vae" / CHECKPOINT, weights_only=False)["step"] == 2  # a crop step, then a whole-frame step
    config = AutoencoderKL.load_config(tmp_path / "vae" / "vae")
    assert config["latent_channels"] == 8 and config["block_out_channels"] == [32, 64, 64, 96]
    assert ClipStore.load(data, with_latents=True).latents.shape == (2, 8, 8, 16, 16)

    old = builtin_denoiser().eval()
    with torch.no_grad():
        old.conv_in.weight[:, 4:].normal_(std=0.1)  # a trained camera input, to be found at its new place
    old.save_pretrained(tmp_path / "old")
    new = train_denoiser(str(data), str(tmp_path / "vae" / "vae"), str(tmp_path / "run"), steps=0, init=str(tmp_path / "old"))
    assert new.config.in_channels == new.config.out_channels == 8
    kept = {name for name, weight in old.state_dict().items() if torch.equal(weight, new.state_dict()[name])}
    assert set(old.state_dict()) - kept == {"conv_in.weight", "conv_out.weight", "conv_out.bias"}
    latents, camera, text = torch.randn(1, 8, 2, 16, 16), torch.randn(1, 4, 2, 16, 16), torch.randn(1, 5, 384)
    with torch.no_grad():
        grown = new.eval()(latents, 500, text, camera=camera).sample
        before = old(latents[:, :4], 500, text, camera=camera).sample
    torch.testing.assert_close(grown[:, :4], before)
    torch.testing.assert_close(grown[:, 4:], torch.einsum("no,bofhw->bnfhw", added_channel_rotation(4, 8), before), atol=1e-5, rtol=1e-5)

    train_denoiser(str(data), str(tmp_path / "vae" / "vae"), str(tmp_path / "run"), steps=1, clips_per_batch=1,
                   images_per_batch=2, preview_every=0)
    result = CliRunner().invoke(app, ["train", "export", "--run", str(tmp_path / "run"), "--vae", str(tmp_path / "vae" / "vae"),
                                      "--out", str(tmp_path / "model")])  # a candidate beside the shipped model
    assert result.exit_code == 0 and f"exported to {tmp_path / 'model'}" in result.output
    pipe = load_pipeline(str(tmp_path / "model"))
    pipe.set_progress_bar_config(disable=True)
    assert pipe("a lake", num_frames=2, num_inference_steps=2, seed=0).frames.shape == (1, 2, 128, 128, 3)


def test_a_deeper_unet_from_saved_weights_starts_as_the_same_function_and_learns(tmp_path):
    """`train denoiser --init FOLDER --layers-per-block 2`: the saved layers keep their weights and skip connections and
    the new ones start as identities, so the deeper UNet computes what the saved one did, and training reaches the new
    layers; fewer layers than the init's is one error line, and no run folder is made."""
    torch.manual_seed(0)
    old = builtin_denoiser()
    with torch.no_grad():  # a trained UNet's zero-initialised parts (camera, text embedding) are not zero
        for weight in old.parameters():
            weight.add_(0.02 * torch.randn_like(weight))
    old.save_pretrained(tmp_path / "old")
    deep = warm_start(str(tmp_path / "old"), latent_channels=4, layers_per_block=2)
    assert [len(block.resnets) for block in (*deep.down_blocks, *deep.up_blocks)] == [2, 2, 2, 3, 3, 3]
    assert sum(weight.numel() for weight in deep.parameters()) > 1.3 * sum(weight.numel() for weight in old.parameters())
    inputs = (torch.randn(2, 4, 3, 16, 16), torch.tensor([100, 900]))
    conditions = {"encoder_hidden_states": torch.randn(2, 8, 384), "camera": torch.randn(2, 4, 3, 16, 16)}
    with torch.no_grad():
        expected = old.eval()(*inputs, **conditions).sample
        assert torch.allclose(deep.eval()(*inputs, **conditions).sample, expected, atol=1e-5)
    deep.train()(*inputs, **conditions).sample.square().mean().backward()
    for new_layer in (deep.down_blocks[0].resnets[1], deep.up_blocks[1].resnets[1], deep.up_blocks[0].resnets[1]):
        assert new_layer.conv2.weight.grad.abs().sum() > 0  # zero weights, but not a dead branch

    deep.save_pretrained(tmp_path / "deep")
    data, vae = tiny_latent_data(tmp_path)
    result = CliRunner().invoke(app, ["train", "denoiser", "--data", str(data), "--vae", str(vae), "--out", str(tmp_path / "run"),
                                      "--init", str(tmp_path / "deep"), "--layers-per-block", "1"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "has 2 layers per block; a run from it can add layers, not remove them (asked: 1)" in result.output
    assert not (tmp_path / "run").exists()


def test_a_run_with_the_input_temporal_transformer_exports_warm_starts_and_resumes_with_it(tmp_path):
    """Runs started before the built-in UNet dropped transformer_in keep their architecture on export and on resume;
    as --init they seed every other weight of today's UNet; resumed with another depth they are one error line naming
    the checkpoint, left untouched."""
    old = CameraUNet3D.from_config({**builtin_denoiser().config, "input_temporal_transformer": True})
    (tmp_path / "run").mkdir()
    save_checkpoint(tmp_path / "run", old, torch.optim.AdamW(old.parameters()), step=1, ema=old)
    state = torch.load(tmp_path / "run" / CHECKPOINT, weights_only=False)
    del state["config"]["input_temporal_transformer"]  # as runs saved it before the setting existed
    torch.save(state, tmp_path / "run" / CHECKPOINT)
    builtin_vae().save_pretrained(tmp_path / "vae")
    exported = CameraUNet3D.from_pretrained(export_builtin(str(tmp_path / "run"), str(tmp_path / "vae"), tmp_path / "model") / "denoiser")
    assert exported.config.input_temporal_transformer and any(name.startswith("transformer_in.") for name in exported.state_dict())
    builtin_vae(latent_channels=8).save_pretrained(tmp_path / "vae8")
    with pytest.raises(UsageError, match="makes 8-channel latents and the run in .* denoises 4"):
        export_builtin(str(tmp_path / "run"), str(tmp_path / "vae8"), tmp_path / "model8")
    assert not (tmp_path / "model8").exists()

    old.save_pretrained(tmp_path / "old")
    new = warm_start(str(tmp_path / "old"), latent_channels=4)
    assert not any(name.startswith("transformer_in.") for name in new.state_dict())
    assert all(torch.equal(weight, old.state_dict()[name]) for name, weight in new.state_dict().items())
    assert sum(weight.numel() for weight in new.parameters()) < 0.85 * sum(weight.numel() for weight in old.parameters())

    resumed = start_run(str(tmp_path / "run"), CameraUNet3D, builtin_denoiser, lr=1e-4, weight_decay=0.01, seed=0)
    assert resumed.step == 1 and resumed.model.config.input_temporal_transformer
    assert all(torch.equal(weight, old.state_dict()[name]) for name, weight in resumed.ema.state_dict().items())

    before = (tmp_path / "run" / CHECKPOINT).read_bytes()
    data, vae = tiny_latent_data(tmp_path)
    result = CliRunner().invoke(app, ["train", "denoiser", "--data", str(data), "--vae", str(vae), "--out", str(tmp_path / "run"),
                                      "--steps", "2", "--layers-per-block", "2"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert f"{tmp_path / 'run' / CHECKPOINT}: this run was started with layers_per_block 1 (asked: 2)" in result.output
    assert (tmp_path / "run" / CHECKPOINT).read_bytes() == before


@pytest.mark.parametrize("widths", ["32,64,128", "32,64,100,128", "wide"])
def test_vae_widths_that_cannot_build_are_one_error_line(tmp_path, widths):
    result = CliRunner().invoke(app, ["train", "vae", "--data", str(tmp_path), "--out", str(tmp_path / "vae"), "--widths", widths])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert f"--widths {widths!r}: give four channel counts, each a multiple of 32" in result.output
    assert not (tmp_path / "vae").exists()


def test_vae_run_starts_from_saved_weights_with_their_architecture(tmp_path):
    """`train vae --init FOLDER` starts a run from a saved VAE (weights only), which keeps its own widths and latent
    channels; a folder that is not a saved VAE is one error line, and no run is started."""
    data = tmp_path / "data"
    render_shards(data, num_clips=2, num_frames=2, size=128, shard_size=2, log=lambda line: None)
    saved = builtin_vae(latent_channels=8, widths=(32, 64, 64, 96))
    saved.save_pretrained(tmp_path / "saved")
    command = ["train", "vae", "--data", str(data), "--steps", "1", "--batch", "2", "--whole-frame-steps", "0"]

    result = CliRunner().invoke(app, command + ["--out", str(tmp_path / "run"), "--init", str(tmp_path / "saved")])
    assert result.exit_code == 0, result.output
    state = torch.load(tmp_path / "run" / CHECKPOINT, weights_only=False)
    assert state["step"] == 1
    assert state["config"]["latent_channels"] == 8 and list(state["config"]["block_out_channels"]) == [32, 64, 64, 96]
    moved = max((state["model"][name] - weight).abs().max().item() for name, weight in saved.state_dict().items())
    assert moved < 2e-3  # one Adam step moves each weight by about the learning rate (4e-4); a fresh init by far more

    result = CliRunner().invoke(app, command + ["--out", str(tmp_path / "other"), "--init", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert f"vae: {tmp_path / 'nothing'} has no config.json, so it is not a saved VAE folder" in result.output
    assert not (tmp_path / "other").exists()


def test_grown_vae_starts_as_the_original_with_its_new_channels_a_rotation_of_old_ones():
    """grow_latent_channels adds latent channels as a fixed rotation of the old ones: the old channels' means and
    log-variances are the original's, the new means are the rotation of the old ones, and the posterior mean decodes to
    the original's picture; growing past twice the channels is one error line."""
    torch.manual_seed(0)
    vae = builtin_vae(widths=(32, 32, 32, 32)).eval()
    images = torch.rand(2, 3, 128, 128) * 2 - 1
    for channels in (8, 6):
        grown = grow_latent_channels(vae, channels).eval()
        rotation = added_channel_rotation(4, channels)
        torch.testing.assert_close(rotation @ rotation.T, torch.eye(channels - 4))
        with torch.no_grad():
            before, after = vae.encode(images).latent_dist, grown.encode(images).latent_dist
            assert after.mean.shape == (2, channels, 16, 16)
            torch.testing.assert_close(after.mean[:, :4], before.mean, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(after.logvar[:, :4], before.logvar, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(after.mean[:, 4:], torch.einsum("no,bohw->bnhw", rotation, before.mean), atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(grown.decode(after.mean).sample, vae.decode(before.mean).sample, atol=1e-4, rtol=1e-4)
    with pytest.raises(UsageError, match="a VAE with 4 grows to between 5 and 8 at once"):
        grow_latent_channels(vae, 9)


def test_vae_grown_from_init_keeps_the_init_channels_and_scaling(tmp_path):
    """`train vae --init FOLDER --latent-channels N --anchor-weight W` grows the saved VAE, trains it with its old
    channels anchored (logged as anchor_loss) and caches latents at the init's scaling factor, so a UNet trained on
    the init's latents still reads the old channels."""
    data = tmp_path / "data"
    render_shards(data, num_clips=2, num_frames=2, size=128, shard_size=2, log=lambda line: None)
    saved = builtin_vae(widths=(32, 32, 32, 32))
    saved.register_to_config(scaling_factor=0.5)
    saved.save_pretrained(tmp_path / "saved")
    result = CliRunner().invoke(app, ["train", "vae", "--data", str(data), "--out", str(tmp_path / "run"), "--steps", "1",
                                      "--batch", "2", "--whole-frame-steps", "1", "--init", str(tmp_path / "saved"),
                                      "--latent-channels", "6", "--anchor-weight", "1", "--lr", "1e-4"])
    assert result.exit_code == 0, result.output
    assert "scaling factor 0.5000" in result.output and "grown channels rescaled by" in result.output
    latents = ClipStore.load(data, with_latents=True).latents.astype(np.float32)
    assert latents.shape == (2, 2, 6, 16, 16)
    spreads = latents.std(axis=(0, 1, 3, 4))
    assert np.allclose(spreads[4:], latents[:, :, :4].std(), rtol=0.1), spreads  # one scaling factor fits every channel

    images = torch.from_numpy(ClipStore.load(data).clips[:, 0].copy()).permute(0, 3, 1, 2).float() / 127.5 - 1
    evened = AutoencoderKL.from_pretrained(tmp_path / "run" / "vae").eval()
    state = torch.load(tmp_path / "run" / CHECKPOINT, weights_only=False)
    trained = AutoencoderKL.from_config(state["config"]).eval()
    trained.load_state_dict(state["ema"])
    with torch.no_grad():  # the rescaling leaves the round trip as the training left it
        torch.testing.assert_close(evened.decode(evened.encode(images).latent_dist.mean).sample,
                                   trained.decode(trained.encode(images).latent_dist.mean).sample, atol=1e-4, rtol=1e-4)
    with torch.no_grad():
        init_means = saved.eval().encode(images).latent_dist.mean
    drift = {}
    for weight in (0.0, 100.0):  # the anchor holds the old channels where the init's encoder put them
        run = tmp_path / f"anchor{weight:g}"
        vae = train_vae(str(data), str(run), steps=3, batch=2, crop=64, lr=1e-3, init=str(tmp_path / "saved"),
                        latent_channels=6, anchor_weight=weight, log_every=1)
        with torch.no_grad():
            drift[weight] = (vae.eval().encode(images).latent_dist.mean[:, :4] - init_means).abs().mean().item()
    assert "anchor_loss" in json.loads((tmp_path / "anchor100" / "log.jsonl").read_text().splitlines()[-1])
    assert drift[100.0] < 0.75 * drift[0.0], drift  # Adam moves every weight about lr a step; the anchor steers where


@pytest.mark.parametrize("flags, message", [
    (["--latent-channels", "2"], "latent channels: got 2; {saved} has 4, and a VAE can grow channels but not lose them"),
    (["--anchor-weight", "-1"], "anchor weight: got -1; it must be 0 or more, and needs an init VAE"),
    (["--anchor-weight", "1", "--no-init"], "anchor weight: got 1; it must be 0 or more, and needs an init VAE"),
    (["--latent-channels", "9"], "latent channels: got 9; a VAE with 4 grows to between 5 and 8 at once"),
])
def test_vae_growth_bad_input_is_one_error_line_and_no_run_folder(tmp_path, flags, message):
    data = tmp_path / "data"
    render_shards(data, num_clips=2, num_frames=2, size=128, shard_size=2, log=lambda line: None)
    builtin_vae(widths=(32, 32, 32, 32)).save_pretrained(tmp_path / "saved")
    init = [] if "--no-init" in flags else ["--init", str(tmp_path / "saved")]
    result = CliRunner().invoke(app, ["train", "vae", "--data", str(data), "--out", str(tmp_path / "run"), "--steps", "1",
                                      *init, *(flag for flag in flags if flag != "--no-init")])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert message.format(saved=tmp_path / "saved") in result.output
    assert not (tmp_path / "run").exists()


def test_pair_crops_are_cut_around_what_the_pair_changes():
    """A pair whose second frame adds a small square (a subject): both crops hold the square, cut at the same place,
    and the change mask is the square."""
    clips = np.full((2, 1, 128, 128, 3), 90, np.uint8)
    clips[1, 0, 100:108, 10:18] = 250
    images, changes = pair_crops(clips, np.array([[0, 1]]), count=3, crop=32, rng=np.random.default_rng(0))
    assert images.shape == (6, 3, 32, 32) and changes.shape == (6, 1, 32, 32)
    assert torch.equal(changes[0::2], changes[1::2])
    assert (changes.sum(dim=(1, 2, 3)) == 64).all()  # the whole 8 x 8 square in every crop
    assert torch.equal(changes.bool(), (images[1::2] - images[0::2]).abs().amax(1, keepdim=True).gt(0).repeat_interleave(2, 0))
    torch.testing.assert_close(images[0::2], torch.full_like(images[0::2], 90 / 127.5 - 1))  # the first: unchanged


def test_weighted_reconstruction_loss_weighs_the_changed_pixels():
    images, reconstructed = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    reconstructed[..., 0, 0] = 1.0  # one wrong pixel
    plain = reconstruction_loss(reconstructed, images)
    assert plain.item() == pytest.approx(2 / 16)  # L1 + MSE of one pixel off by 1, over 16
    assert reconstruction_loss(reconstructed, images, torch.ones(1, 1, 4, 4)).item() == pytest.approx(plain.item())
    weights = torch.ones(1, 1, 4, 4)
    weights[..., 0, 0] = 5.0
    assert reconstruction_loss(reconstructed, images, weights).item() == pytest.approx(2 * 5 / 20)


def test_vae_trains_on_counterfactual_pairs_and_bad_pair_settings_are_one_error_line(tmp_path):
    data, pairs = tmp_path / "data", tmp_path / "pairs"
    render_shards(data, num_clips=2, num_frames=2, size=128, shard_size=2, log=lambda line: None)
    render_shards(pairs, num_clips=4, num_frames=1, size=128, shard_size=4, pairs=True, log=lambda line: None)
    train_vae(str(data), str(tmp_path / "run"), steps=2, batch=4, crop=32, pairs=str(pairs), pair_weight=4.0,
              widths=(32, 32, 32, 32), log_every=1)
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records] == [1, 2] and all(record["loss"] > 0 for record in records)

    command = ["train", "vae", "--data", str(data), "--out", str(tmp_path / "bad"), "--steps", "1", "--batch", "2"]
    builtin_vae(widths=(32, 32, 32, 32)).save_pretrained(tmp_path / "saved")
    decoder = ["train", "decoder", "--data", str(data), "--vae", str(tmp_path / "saved"), "--out", str(tmp_path / "bad")]
    for flags, message in ((command + ["--pair-weight", "1"], "pair weight: got 1; it must be 0 or more, and weighs the pairs"),
                           (command + ["--pairs", str(pairs), "--pair-weight", "-1"], "pair weight: got -1; it must be 0 or more"),
                           (command + ["--pairs", str(data)], "pairs: clips 0 and 1 are not a counterfactual pair"),
                           (decoder + ["--pairs", str(pairs)], "and no shifted latents (--shift-share 0)")):
        result = CliRunner().invoke(app, flags)
        assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
        assert message in result.output
        assert not (tmp_path / "bad").exists()


def test_resuming_a_run_keeps_its_architecture_and_other_settings_name_the_checkpoint(tmp_path):
    """A run folder keeps the architecture it started with: resumed without its flags it goes on as it was, and
    resumed as another it is one line, and the run is kept."""
    data = tmp_path / "data"
    render_shards(data, num_clips=2, num_frames=2, size=128, shard_size=2, log=lambda line: None)
    train_vae(str(data), str(tmp_path / "vae"), steps=1, batch=2, crop=32, latent_channels=8, widths=(32, 64, 64, 96))
    command = ["train", "vae", "--data", str(data), "--out", str(tmp_path / "vae"), "--steps", "2", "--batch", "2",
               "--whole-frame-steps", "0"]
    result = CliRunner().invoke(app, command)  # neither --widths nor --latent-channels again
    assert result.exit_code == 0, result.output
    assert f"{tmp_path / 'vae' / CHECKPOINT}: resuming at step 1, with its weights, optimizer and architecture" in result.output
    state = torch.load(tmp_path / "vae" / CHECKPOINT, weights_only=False)
    assert state["step"] == 2 and state["config"]["latent_channels"] == 8
    assert list(state["config"]["block_out_channels"]) == [32, 64, 64, 96]

    before = (tmp_path / "vae" / CHECKPOINT).read_bytes()
    result = CliRunner().invoke(app, command + ["--steps", "3", "--widths", "32,64,256,256"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert f"{tmp_path / 'vae' / CHECKPOINT}: this run was started with block_out_channels [32, 64, 64, 96] (asked: [32, 64, 256, 256])" in result.output
    assert (tmp_path / "vae" / CHECKPOINT).read_bytes() == before


def tiny_latent_data(tmp_path) -> tuple[Path, Path]:
    """Two 8-frame world clips with their latents cached, and the folder of the random VAE that encoded them."""
    data = tmp_path / "data"
    render_shards(data, num_clips=2, num_frames=8, size=128, shard_size=2, log=lambda line: None)
    vae = builtin_vae()
    cache_latents(str(data), vae, log=lambda line: None)
    vae.save_pretrained(tmp_path / "vae")
    return data, tmp_path / "vae"


def test_pooled_text_share_hides_the_caption_from_cross_attention_alone(tmp_path, monkeypatch):
    """With pooled_text_share 1 every caption reaches the UNet through the pooled text alone: cross-attention reads the
    empty caption's states, the pooled text is the real caption's mean state, the same captions as a run without."""
    data, vae = tiny_latent_data(tmp_path)
    seen = {}
    forward = CameraUNet3D.forward

    def recording_forward(self, sample, timestep, encoder_hidden_states, camera=None, pooled_text=None, **kwargs):
        seen.setdefault(share, []).append((encoder_hidden_states.detach(), pooled_text.detach()))
        return forward(self, sample, timestep, encoder_hidden_states, camera, pooled_text, **kwargs)

    monkeypatch.setattr(CameraUNet3D, "forward", recording_forward)
    for share in (0.0, 1.0):
        train_denoiser(str(data), str(vae), str(tmp_path / f"run{share}"), steps=3, clips_per_batch=1,
                       images_per_batch=2, preview_every=0, pooled_text_share=share)
    empty = encode_text(*load_minilm(), [""])  # (1, T, D)
    for (context, pooled), (hidden_context, same_pooled) in zip(seen[0.0], seen[1.0], strict=True):
        assert torch.equal(pooled, context.mean(dim=1)) and torch.equal(pooled, same_pooled)
        assert torch.equal(hidden_context, empty.expand_as(context))
    assert any(not torch.allclose(pooled, empty.mean(dim=1)) for _, pooled in seen[0.0])  # real captions were hidden
    result = CliRunner().invoke(app, ["train", "denoiser", "--pooled-text-share", "1.5"])
    assert result.exit_code != 0 and "--pooled-text-share" in result.output


def test_complete_caption_share_names_every_detail_as_the_eval_prompts_do():
    """At complete_caption_share 1 every caption names the ground and the trees, as caption(..., complete=True) does;
    at 0 a detail is left out about a quarter of the time."""
    scene = Scene(ground="snow", vegetation="forest")
    store = SimpleNamespace(scenes=[scene])
    ground_words, vegetation_words = PHRASES["ground"]["snow"][0], PHRASES["vegetation"]["forest"][0]

    def said(share: float) -> int:  # of 200 captions, those naming both the ground and the trees
        captions = [Batches(store, seed=seed, caption_dropout=0, complete_caption_share=share)._caption(0)
                    for seed in range(200)]
        return sum(any(words in text for words in ground_words) and any(words in text for words in vegetation_words)
                   for text in captions)

    assert said(1.0) == 200
    assert 80 < said(0.0) < 150  # both said 0.75 x 0.75 of the time


def test_timestep_shift_trains_the_noisiest_steps_more_often(tmp_path):
    """Shift 1 draws exactly torch.randint's timesteps, so earlier runs draw as before; shift 3 puts about 36% of
    them in the first four of 25 sampling steps (t >= 840, 16% uniformly), all inside the schedule; a shift of 0 is
    refused before a run folder is made."""
    torch.manual_seed(0)
    uniform = training_timesteps(1000)
    torch.manual_seed(0)
    assert torch.equal(uniform, torch.randint(0, NUM_TRAIN_TIMESTEPS, (1000,)))
    shifted = training_timesteps(20000, shift=3.0)
    assert shifted.min() >= 0 and shifted.max() <= NUM_TRAIN_TIMESTEPS - 1
    assert 0.33 < (shifted >= 840).float().mean() < 0.39
    with pytest.raises(UsageError, match="timestep_shift: got 0"):
        train_denoiser(str(tmp_path / "data"), str(tmp_path / "vae"), str(tmp_path / "run"), steps=1, timestep_shift=0)
    assert not (tmp_path / "run").exists()


def test_clause_only_share_leaves_cross_attention_the_clause_embeddings_alone(tmp_path, monkeypatch):
    """With prompt_clauses the context is the caption's token states and then its clause embeddings; with
    clause_only_share 1 the token states are the empty caption's and the clauses stay the real caption's."""
    data, vae = tiny_latent_data(tmp_path)
    seen = []
    forward = CameraUNet3D.forward

    def recording_forward(self, sample, timestep, encoder_hidden_states, camera=None, pooled_text=None, **kwargs):
        seen.append(encoder_hidden_states.detach())
        return forward(self, sample, timestep, encoder_hidden_states, camera, pooled_text, **kwargs)

    monkeypatch.setattr(CameraUNet3D, "forward", recording_forward)
    run = tmp_path / "run"
    train = lambda out, **settings: train_denoiser(str(data), str(vae), str(out), steps=3, clips_per_batch=1,
                                                   images_per_batch=2, preview_every=0, **settings)
    train(run, prompt_clauses=8, clause_only_share=1.0)
    empty = encode_text(*load_minilm(), [""], clauses=8)  # (1, T + 8, D)
    words = MAX_PROMPT_TOKENS
    assert [context.shape[1] for context in seen] == [words + 8] * 3
    assert all(torch.equal(context[:, :words], empty[:, :words].expand_as(context[:, :words])) for context in seen)
    assert any(not torch.allclose(clause, empty[0, words]) for context in seen for clause in context[:, words])
    assert torch.load(run / CHECKPOINT, weights_only=False)["config"]["prompt_clauses"] == 8  # export and resume keep it
    with pytest.raises(UsageError, match=r"this run was started with prompt_clauses 8 \(asked: 4\)"):
        train(run, prompt_clauses=4)
    with pytest.raises(UsageError, match=r"^clause_only_share: 0.5 needs a UNet that reads prompt clauses"):
        train(tmp_path / "plain", clause_only_share=0.5)
    assert not (tmp_path / "plain").exists()  # refused before the run folder is made


def test_noisy_context_keeps_each_caption_within_its_neighbourhood():
    """Conditioning augmentation: strength 0 is the clean context; strength 1 gives each caption its own noise level,
    from none to about a cosine of 0.7 with the clean states, never further."""
    context = encode_text(*load_minilm(), ["snowy peaks above a lake at dawn, camera pans right"], clauses=8)
    batch = context.expand(256, -1, -1)
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(noisy_context(batch, 0.0, generator), batch)
    cosines = torch.nn.functional.cosine_similarity(noisy_context(batch, 1.0, generator).flatten(1), batch.flatten(1))
    assert 0.69 < cosines.min() < 0.75 and cosines.max() > 0.99  # the noise level is drawn per caption
    assert 0.85 < cosines.mean() < 0.92
    dropped = torch.arange(256) % 10 == 0  # the empty captions of guidance's unconditional branch stay clean
    noised = noisy_context(batch, 1.0, generator, clean=dropped)
    assert torch.equal(noised[dropped], batch[dropped]) and not torch.equal(noised[~dropped], batch[~dropped])
    added = noisy_context(batch, 1.0, generator, tied=2) - batch  # a counterfactual pair's captions: the same noise
    assert torch.equal(added[0::2], added[1::2]) and not torch.equal(added[0::2], added[2::2])
    result = CliRunner().invoke(app, ["train", "denoiser", "--context-noise", "-1"])
    assert result.exit_code != 0 and "--context-noise" in result.output


def test_image_steps_are_spread_evenly_by_share():
    """A third (the built-in model's recipe) is every third step; any share gives its count, none bunched up."""
    assert [step for step in range(9) if spread_evenly(step, 1 / 3)] == [2, 5, 8]
    assert not any(spread_evenly(step, 0.0) for step in range(100))
    for share in (0.25, 0.5, 0.6, 1.0):
        steps = [step for step in range(100) if spread_evenly(step, share)]
        assert len(steps) == round(100 * share)
        assert max(later - earlier for earlier, later in zip(steps, steps[1:])) <= math.ceil(1 / share)


def test_snr_weight_keeps_the_noisiest_steps():
    """x0-space weight clip(SNR, 1, 5): 1 at pure noise (plain min-SNR gives 0 there), 5 at low noise."""
    scheduler = training_scheduler()
    timesteps = torch.tensor([0, 500, 999])
    alphas = scheduler.alphas_cumprod[timesteps]
    x0_weight = snr_weight(scheduler, timesteps) * (alphas / (1 - alphas).clamp(min=1e-8) + 1)
    assert torch.allclose(x0_weight, torch.tensor([5.0, 1.0, 1.0]), atol=0.05), x0_weight


def test_counterfactual_pairs_train_under_the_same_noise_and_differ_only_in_their_words(tmp_path, monkeypatch):
    """A pairs folder holds the same scene twice with one attribute changed; its image steps (or a share of them) noise
    both frames of a pair with the same noise to the same timestep, with captions made alike, so what differs is the
    attribute."""
    data, vae = tiny_latent_data(tmp_path)
    pairs = tmp_path / "pairs"
    render_shards(pairs, num_clips=4, num_frames=1, size=128, shard_size=4, pairs=True, log=lambda line: None)
    cache_latents(str(pairs), AutoencoderKL.from_pretrained(vae), keep_scaling=True, log=lambda line: None)
    store = ClipStore.load(pairs, with_latents=True)
    assert counterfactual_pairs(store.scenes).tolist() == [[0, 1], [2, 3]]
    for first, second in ((0, 1), (2, 3)):
        assert len(changed_attributes(store.scenes[first], store.scenes[second])) == 1
        assert store.scenes[first].seed == store.scenes[second].seed
    latents, captions, _ = Batches(store, seed=0, caption_dropout=0, pairs=counterfactual_pairs(store.scenes)).draw_pairs(8)
    assert latents.shape == (16, 4, 1, 16, 16)
    for first, second in zip(captions[0::2], captions[1::2]):  # the same choices: one or two clauses differ
        assert first != second and sum(a != b for a, b in zip(first.split(", "), second.split(", "))) <= 2

    seen = []
    forward = CameraUNet3D.forward

    def recording_forward(self, sample, timestep, encoder_hidden_states, camera=None, pooled_text=None, **kwargs):
        seen.append((sample.detach(), timestep, encoder_hidden_states.detach()))
        return forward(self, sample, timestep, encoder_hidden_states, camera, pooled_text, **kwargs)

    monkeypatch.setattr(CameraUNet3D, "forward", recording_forward)
    train_denoiser(str(data), str(vae), str(tmp_path / "run"), steps=2, images_per_batch=4, image_share=1.0,
                   preview_every=0, prompt_clauses=8, context_noise=1.0, pairs=str(pairs), pair_weight=1.0)
    alphas = training_scheduler().alphas_cumprod
    differences = [torch.from_numpy(store.latents[a].astype(np.float32) - store.latents[b]).transpose(0, 1) for a, b in ((0, 1), (2, 3))]
    for sample, timestep, context in seen:
        assert torch.equal(timestep[0::2], timestep[1::2])
        for a, b, step in zip(sample[0::2], sample[1::2], timestep[0::2]):  # the noise cancels in a pair's difference
            assert any(torch.allclose(a - b, alphas[step].sqrt() * difference, atol=1e-4) for difference in differences)
    seen.clear()  # a pair share of a half: every other image step trains on the pairs, the others on the clips' frames
    train_denoiser(str(data), str(vae), str(tmp_path / "half"), steps=4, images_per_batch=4, image_share=1.0,
                   preview_every=0, prompt_clauses=8, pairs=str(pairs), pair_share=0.5)
    assert [torch.equal(timestep[0::2], timestep[1::2]) for _, timestep, _ in seen] == [False, True, False, True]
    with pytest.raises(UsageError, match=r"^pairs: clips 0 and 1 are not a counterfactual pair"):
        train_denoiser(str(data), str(vae), str(tmp_path / "wrong"), steps=1, preview_every=0, pairs=str(data))
    with pytest.raises(UsageError, match=r"^pairs: no rendered shards in .*none; run `videogen train data --out"):
        train_denoiser(str(data), str(vae), str(tmp_path / "wrong"), steps=1, preview_every=0, pairs=str(tmp_path / "none"))
    (pairs / "latents_00000.npy").unlink()
    with pytest.raises(UsageError, match=r"^pairs: no cached latents in .*; run `videogen train latents --data"):
        train_denoiser(str(data), str(vae), str(tmp_path / "wrong"), steps=1, preview_every=0, pairs=str(pairs))
    assert not (tmp_path / "wrong").exists()
    result = CliRunner().invoke(app, ["train", "denoiser", "--data", str(data), "--vae", str(vae), "--out", str(tmp_path / "wrong"),
                                      "--pair-weight", "2"])
    assert result.exit_code == 2 and "pair_weight: got 2.0; it only applies to the counterfactual pairs" in result.output
    result = CliRunner().invoke(app, ["train", "denoiser", "--data", str(data), "--vae", str(vae), "--out", str(tmp_path / "wrong"),
                                      "--pair-share", "0.5"])
    assert result.exit_code == 2 and "pair_share: got 0.5; it only applies to the counterfactual pairs" in result.output
    assert not (tmp_path / "wrong").exists()
