from celery import shared_task

from governance import services


@shared_task(name="governance.tasks.idempotency_records_purge")
def idempotency_records_purge_task() -> int:
    return services.idempotency_records_purge()
