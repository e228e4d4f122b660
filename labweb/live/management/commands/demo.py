"""`labweb demo`: migrate, make an operator account, start daphne and simulated rigs; Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from labweb.live import demo


class Command(BaseCommand):
    help = "Run the whole system on this machine: the dashboard and N simulated rig agents with synthetic cameras."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="dashboard port on 127.0.0.1 (default 8000)")
        parser.add_argument("--rigs", type=int, default=3, help="how many simulated rigs (default 3)")
        parser.add_argument("--user", default="admin", help="operator account to create (default admin)")
        parser.add_argument("--password", help="its password (default: $LABWEB_DEMO_PASSWORD, else generated)")

    def handle(self, *args, port: int, rigs: int, user: str, password: str | None, **options):
        if not 0 <= rigs <= 200:
            raise CommandError("--rigs must be between 0 and 200")
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())

        self.stdout.write("Preparing the database…")
        call_command("migrate", interactive=False, verbosity=0)
        password = demo.demo_user(username=user, password=password)
        root = demo.demo_root()
        log_dir = root / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        configs = demo.demo_rig_configs(count=rigs, port=port, root=root)
        demo.demo_subject()

        children: list[demo.Child] = []
        try:
            os.environ.setdefault("LABWEB_URL", f"http://127.0.0.1:{port}")  # the links in the demo's notifications
            server = demo.spawn("daphne", demo.daphne_argv(port), log_dir=log_dir)
            children.append(server)
            demo.wait_for_port(port, timeout=30, child=server)
            low_disk = demo.demo_low_disk_rig([config.parent.name for config in configs])
            for config in configs:
                argv = demo.demo_agent_argv(config, low_disk=config.parent.name == low_disk)
                children.append(demo.spawn(f"rig-{config.parent.name}", argv, log_dir=log_dir))
            hook_argv, hook_log = demo.demo_webhook(port=port, root=root)
            children.append(demo.spawn("webhook-receiver", hook_argv, log_dir=log_dir))
            if low_disk:
                self.stdout.write(f"  {low_disk}'s data disk is simulated and runs low in a few minutes: see "
                                  f"http://127.0.0.1:{port}/alerts/ and the webhook log {hook_log}")
            self._banner(port=port, user=user, password=password, children=children, log_dir=log_dir)
            self._supervise(stop, server)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        finally:
            self.stdout.write("Stopping every process…")
            demo.stop_all(children)
            self.stdout.write("Stopped.")

    def _banner(self, *, port, user, password, children, log_dir) -> None:
        self.stdout.write(self.style.SUCCESS(f"\nlabweb is running: http://127.0.0.1:{port}/"))
        self.stdout.write(f"  log in as {user} / {password}")
        for child in children:
            self.stdout.write(f"  {child.name}: pid {child.process.pid}")
        self.stdout.write(f"  logs in {log_dir}; data in {settings.DATA_DIR}")
        self.stdout.write("Press Ctrl-C to stop.\n")
        self.stdout.flush()

    def _supervise(self, stop, server) -> None:
        while not stop.wait(0.5):
            if server.process.poll() is not None:
                raise CommandError(f"the dashboard (daphne) exited with code {server.process.returncode}")
