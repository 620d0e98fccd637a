"""What a job costs: estimated before any spend, final once its outcome is known.

Prices come from the model's profile (``ModelSpec.prices``). A job costs its images (each at the
price of its tier and quality) plus its input images where the API bills them. A failed job
costs what the API charges for it: nothing for a failure it reports itself (refunded), the whole
estimate for one after which it most likely made the images anyway (``billed_failures``: a
cancelled or timed-out task, a synchronous call cut off by a restart). A job whose task finished
costs the images the API made, even if fewer than asked, or if they could not be delivered.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.failures import FailureKind
from bot.jobs.models import JobCompleted, JobFailed, ResolvedRequest
from bot.jobs.provider_set import ProviderSet
from bot.jobs.records import JobRecord
from bot.jobs.validation import spec_for
from bot.providers.catalog import ModelSpec
from bot.providers.prices import Price, add, times


def estimate(resolved: ResolvedRequest, spec: ModelSpec) -> Price:
    """What the job will cost if every image it asks for is made, at ``spec``'s provider."""
    return made(resolved, spec, resolved.request.n)


def made(resolved: ResolvedRequest, spec: ModelSpec, images: int) -> Price:
    """What ``images`` made images (and the inputs behind them) cost; nothing made, nothing
    billed."""
    if images <= 0:
        return Decimal(0)
    prices = spec_for(resolved.request, spec).prices
    per_image = prices.per_image(resolved.resolution, resolved.request.quality)
    inputs = len(resolved.request.references)
    return add(times(per_image, images), times(prices.input_image, inputs))


def per_image(resolved: ResolvedRequest, spec: ModelSpec) -> Price:
    """What one image of the request costs (its tier and quality), inputs aside."""
    prices = spec_for(resolved.request, spec).prices
    return prices.per_image(resolved.resolution, resolved.request.quality)


def currency(resolved: ResolvedRequest, spec: ModelSpec) -> str:
    """The currency the model that takes the request charges in."""
    return spec_for(resolved.request, spec).prices.currency


def priced(resolved: ResolvedRequest, spec: ModelSpec) -> dict[str, Any]:
    """The record fields of a job about to go to ``spec``'s provider: currency and estimate."""
    return {"currency": currency(resolved, spec), "estimated_cost": estimate(resolved, spec)}


def incurred(job: JobRecord, spec: ModelSpec, images: int) -> None:
    """The task finished with ``images`` made: they are paid for, delivered or not."""
    job.currency = currency(job.resolved(), spec)
    job.cost = made(job.resolved(), spec, images)


def failed(
    resolved: ResolvedRequest,
    spec: ModelSpec,
    failure: FailureKind,
    *,
    submitted: bool,
    incurred: Price | None,
) -> Price:
    """What a job that ended without images costs.

    ``incurred`` is what was already known to be spent (the task finished upstream but its
    images could not be delivered); ``submitted`` whether the API ever received the job.
    """
    if incurred is not None:
        return incurred
    if submitted and failure in spec_for(resolved.request, spec).prices.billed_failures:
        return estimate(resolved, spec)
    return Decimal(0)


def settle(job: JobRecord, spec: ModelSpec, event: JobCompleted | JobFailed) -> None:
    """Set the job's final cost as its outcome is told (``spec``: the provider that served it).

    Idempotent: a job told again after a restart gets the same cost.
    """
    resolved = job.resolved()
    job.currency = job.currency or currency(resolved, spec)
    if isinstance(event, JobCompleted):
        # The images made (``incurred`` when the task finished), not only those delivered: a
        # result that could not be downloaded was paid for all the same.
        job.cost = job.cost if job.cost is not None else made(resolved, spec, len(event.images))
        return
    submitted = job.task_id is not None or job.submitted_at is not None
    job.cost = failed(resolved, spec, event.failure, submitted=submitted, incurred=job.cost)


class FinalCost:
    """The engine's first finish hook: ``settle`` with the spec of the provider that served."""

    def __init__(self, providers: ProviderSet) -> None:
        self._providers = providers

    async def __call__(self, job: JobRecord, event: JobCompleted | JobFailed) -> None:
        """Set ``job.cost`` before any other hook reads it (budgets, reports)."""
        provider = self._providers.named(job.provider)
        settle(job, provider.spec if provider is not None else self._providers.spec, event)
