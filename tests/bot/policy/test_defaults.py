"""Defaults: the member's over the channel's over the server's, typed options over all; a
default that does not fit is refused when set and left out (with why) when a job runs."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.i18n import source_lang
from bot.jobs.models import JobRequest, ResolvedRequest
from bot.jobs.validation import validate_request
from bot.options import OutputFormat, Quality, Ratio, Resolution
from bot.policy.defaulting import apply_defaults, defaults_problem
from bot.policy.defaults import DefaultLayer, JobDefaults, applied_text, layers
from bot.policy.models import GuildSettings
from bot.providers.families import toapis_model_spec

SPEC = toapis_model_spec("gpt-image-2")  # the seed table: 1K only 1:1, 3:2, 2:3; no quality
CHANNEL, PARENT, CATEGORY = 1, 2, 3
OPEN = GuildSettings()
NONE = JobDefaults()


def build(values: dict[str, Any]) -> ResolvedRequest:
    return validate_request(JobRequest.model_validate({"prompt": "x", **values}), SPEC)


def d(**options: Any) -> JobDefaults:
    return JobDefaults.model_validate(options)


def stack(
    server: JobDefaults = NONE,
    channel: JobDefaults | None = None,
    member: JobDefaults | None = None,
) -> list[DefaultLayer]:
    channels = {CHANNEL: channel} if channel else {}
    return layers(server, channels, (CHANNEL, PARENT, CATEGORY), member)


def test_each_option_comes_from_the_strongest_layer_that_sets_it() -> None:
    resolved, applied = apply_defaults(
        {},
        stack(d(ratio="16:9", n=4), d(resolution="2K", n=3), d(n=2)),
        build,
        OPEN,
    )
    assert (resolved.request.ratio, resolved.resolution, resolved.request.n) == ("16:9", "2K", 2)
    assert {(a.option, a.value, a.source) for a in applied} == {
        ("ratio", "16:9", "server"),
        ("resolution", "2K", "channel"),
        ("n", "2", "member"),
    }
    assert [a.place for a in applied if a.source == "channel"] == [CHANNEL]


def test_a_typed_option_wins_over_every_default() -> None:
    resolved, applied = apply_defaults(
        {"ratio": Ratio.SQUARE}, stack(d(ratio="16:9"), member=d(ratio="9:16")), build, OPEN
    )
    assert resolved.request.ratio is Ratio.SQUARE and applied == []


def test_a_thread_takes_its_parents_defaults_then_its_categorys() -> None:
    found = layers(
        JobDefaults(),
        {PARENT: d(resolution="2K"), CATEGORY: d(resolution="4K", output_format="jpeg")},
        (10, PARENT, CATEGORY),
        None,
    )
    resolved, applied = apply_defaults({"ratio": "16:9"}, found, build, OPEN)
    assert resolved.resolution is Resolution.R2K
    assert resolved.request.output_format is OutputFormat.JPEG
    assert {a.place for a in applied} == {PARENT, CATEGORY}


def test_a_default_the_typed_options_exclude_is_left_out_with_the_reason() -> None:
    # 1:1 is not offered at 4K in the seed table: the member's typed ratio still works.
    resolved, applied = apply_defaults(
        {"ratio": Ratio.SQUARE}, stack(channel=d(resolution="4K")), build, OPEN
    )
    assert resolved.resolution is Resolution.R1K
    (skipped,) = applied
    assert skipped.skipped is not None and "1:1 is not available at 4K" in str(skipped.skipped)
    text = applied_text(applied, source_lang())
    assert text is not None and text.startswith(f"Not used: 4K (<#{CHANNEL}>'s default)")


def test_a_typed_tier_drops_a_default_ratio_it_does_not_offer() -> None:
    resolved, applied = apply_defaults(
        {"resolution": Resolution.R1K}, stack(d(ratio="16:9")), build, OPEN
    )
    assert resolved.request.ratio is Ratio.SQUARE
    assert applied[0].option == "ratio" and applied[0].skipped


def test_a_default_over_a_lowered_server_limit_is_left_out() -> None:
    settings = GuildSettings(max_n=2, max_resolution=Resolution.R2K)
    resolved, applied = apply_defaults(
        {"ratio": "16:9"}, stack(member=d(n=4, resolution="4K")), build, settings
    )
    assert (resolved.request.n, resolved.resolution) == (1, "2K")
    reasons = {a.option: str(a.skipped) for a in applied}
    assert reasons == {
        "n": "this server allows at most 2 images per job",
        "resolution": "this server allows resolutions up to 2K",
    }


def test_options_a_command_does_not_default_are_never_filled() -> None:
    _, applied = apply_defaults(
        {}, stack(d(ratio="16:9", n=2)), build, OPEN, options=("n", "resolution")
    )
    assert [a.option for a in applied] == ["n"]


def test_a_typed_option_the_model_refuses_is_still_the_members_error() -> None:
    from bot.errors import InputError

    with pytest.raises(InputError) as refused:
        apply_defaults({"quality": Quality.HIGH}, stack(d(n=2)), build, OPEN)
    assert refused.value.field == "quality"


@pytest.mark.parametrize(
    ("layers_", "settings", "problem"),
    [
        ([d(ratio="16:9", resolution="1K")], OPEN, "16:9 is not available at 1K"),
        ([d(quality="high")], OPEN, "does not take a quality setting"),
        ([d(n=5)], GuildSettings(max_n=4), "5 images: this server allows at most 4"),
        ([d(resolution="1K"), d(ratio="21:9")], OPEN, "21:9 is not available at 1K"),
    ],
)
def test_defaults_the_service_or_the_rules_would_refuse_are_refused_when_set(
    layers_: list[JobDefaults], settings: GuildSettings, problem: str
) -> None:
    found = [DefaultLayer(source="server", defaults=layer) for layer in layers_]
    text = defaults_problem(found, build, settings)
    assert text is not None and problem in str(text)


def test_defaults_that_fit_have_no_problem() -> None:
    found = [DefaultLayer(source="member", defaults=d(n=2)), DefaultLayer(
        source="server", defaults=d(ratio="16:9", resolution="2K")
    )]  # fmt: skip
    assert defaults_problem(found, build, OPEN) is None


def test_auto_is_no_default_ratio_and_n_stays_in_range() -> None:
    with pytest.raises(ValidationError):
        d(ratio="auto")
    with pytest.raises(ValidationError):
        d(n=11)


def test_changing_defaults_sets_and_clears_options() -> None:
    before = d(ratio="16:9", n=2)
    after = before.changed({"resolution": Resolution.R2K}, {"n"})
    assert after.given() == {"ratio": Ratio.WIDE_16_9, "resolution": Resolution.R2K}
    english = source_lang()
    assert english.value(after.describe()) == "16:9 · 2K"
    assert english.value(JobDefaults().describe()) == "none"
