"""stammgast clusters: the clusters, their tenants and sizes."""

from stammgast.tenants import services
from stammgast.tenants.commands import TenantCommand


class Command(TenantCommand):
    help = "List the clusters with their tenants, customers and sizes."

    def handle(self, *args, **opts):
        for cluster in services.describe_clusters():
            state = cluster.size if cluster.reachable else "NOT REACHABLE"
            self.stdout.write(f"{cluster.alias}\t{len(cluster.tenants)} tenants\t{state}")
            for tenant in cluster.tenants:
                moving = f"\tmoving to {tenant.moving_to}" if tenant.moving_to else ""
                rows = "?" if tenant.rows is None else f"{tenant.rows:,} rows"
                self.stdout.write(f"  {tenant.slug}\t{rows}{moving}")
