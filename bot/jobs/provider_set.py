"""The providers a job may go to, in failover order, and what members are told about each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.errors import InputError, PermanentUpstreamError
from bot.i18n import Text, _, literal
from bot.jobs.models import JobRequest, ResolvedRequest
from bot.jobs.records import JobRecord, JobState
from bot.jobs.validation import validate_request
from bot.providers.base import ImageProvider
from bot.providers.catalog import ModelSpec


class ProviderSet:
    """The primary provider, the fallbacks after it, and a label for each.

    The primary's model is what requests are validated against and every job tries it first. A
    job records which provider took it; polling, resume and its label follow that one.
    """

    def __init__(
        self,
        primary: ImageProvider,
        fallbacks: Sequence[ImageProvider] = (),
        *,
        label: Text | str | None = None,
        labels: Mapping[str, Text | str] | None = None,
    ) -> None:
        self.primary = primary
        self.providers: list[ImageProvider] = [primary, *fallbacks]
        names = [p.name for p in self.providers]
        if len(set(names)) != len(names):
            raise ValueError(f"provider names must be unique, got {names}")
        self.label = Text.of(label or f"{primary.label} · {primary.spec.model_id}")
        self._labels = {p.name: literal(f"{p.label} · {p.spec.model_id}") for p in self.providers}
        self._labels.update({name: Text.of(text) for name, text in (labels or {}).items()})
        self._labels[primary.name] = self.label

    @property
    def spec(self) -> ModelSpec:
        """What the primary provider's model allows (requests are validated against it)."""
        return self.primary.spec

    def first_able(
        self, request: JobRequest, *, max_prompt_chars: int | None = None
    ) -> tuple[ImageProvider, ResolvedRequest]:
        """The first provider, in failover order, that can do what ``request`` asks.

        A provider that cannot (a mask where masks are ignored, an edit prompt over its limit, a
        ratio it lacks) is passed over for the next one. When none can, the InputError says why
        for each: the member then knows what to change. With one provider, its own reason.
        """
        refusals: list[tuple[ImageProvider, InputError]] = []
        for provider in self.providers:
            try:
                resolved = validate_request(
                    request, provider.spec, max_prompt_chars=max_prompt_chars
                )
            except InputError as exc:
                refusals.append((provider, exc))
                continue
            return provider, resolved
        first = refusals[0][1]
        if len({exc.for_member() for _provider, exc in refusals}) == 1:
            raise first
        why: Text | None = None
        for provider, refusal in refusals:
            # Translators: an image service's name, and why it cannot do what was asked.
            said = _("{service}: {reason}", service=provider.label, reason=refusal.text)
            why = said if why is None else _("{message} {hint}", message=why, hint=said)
        raise InputError(
            _("None of the configured image services can do this."),
            field=first.field,
            member_hint=why or "",
            operator_hint=" ".join(f"{p.label}: {exc.for_operator()}" for p, exc in refusals),
        )

    def able_spec(self, request: JobRequest) -> ModelSpec:
        """The model of the first provider able to do ``request`` (the one it was accepted for)."""
        try:
            provider, _resolved = self.first_able(request)
        except InputError:
            return self.spec
        return provider.spec

    def named(self, name: str | None) -> ImageProvider | None:
        """The configured provider of this name (the primary for None), or None."""
        if name is None:
            return self.primary
        return next((p for p in self.providers if p.name == name), None)

    def label_for(self, job: JobRecord) -> Text:
        """Who makes (or made) the job's images, as shown to the member.

        A job another provider took over says so, so the member knows why it looks different.
        """
        if job.provider is None or job.provider == self.primary.name:
            return self.label
        label = self._labels.get(job.provider, literal(job.provider))
        return _("{label} · standing in for {primary}", label=label, primary=self.primary.label)

    def serving(self, job: JobRecord) -> ImageProvider:
        """The provider that holds the job's task (the primary before anything was sent)."""
        if job.state in (JobState.QUEUED, JobState.UPLOADING):
            return self.primary
        provider = self.named(job.provider)
        if provider is None:
            raise PermanentUpstreamError(
                _(
                    "The image service that took this job ({provider}) is no longer "
                    "configured, so its result cannot be collected. Please run it again.",
                    provider=job.provider or "?",
                ),
                provider=job.provider or "unknown",
            )
        return provider
