from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Contracts"

    def ready(self) -> None:
        from catalog.signals import version_settled
        from contracts.services import contract_check_settled

        # The catalog does not import contracts: a version that settles ready is checked here, from
        # its stored profile.
        version_settled.connect(contract_check_settled, dispatch_uid="contracts_check_settled")
