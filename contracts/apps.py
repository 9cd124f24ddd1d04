from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Contracts"

    def ready(self) -> None:
        from catalog.signals import profiling_patterns_requested, version_settled
        from contracts.selectors import contract_patterns_answer
        from contracts.services import contract_check_settled

        # The catalog does not import contracts: a version that settles ready is checked here, from
        # its stored profile.
        version_settled.connect(contract_check_settled, dispatch_uid="contracts_check_settled")
        # Nor does it know a contract's patterns: it asks, before profiling, and the profiler checks
        # every value of those features with them.
        profiling_patterns_requested.connect(contract_patterns_answer, dispatch_uid="contracts_patterns")
