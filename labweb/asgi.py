"""The ASGI application daphne serves: Django for HTTP, Channels for the browser and agent sockets."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labweb.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

from labweb.security import SafeStaticFilesHandler  # noqa: E402

# Django must be set up before anything imports models. Static files (the UI's own CSS and ES modules, no CDN)
# are served by the same process: a lab dashboard needs no separate web server. A path that walks out of the
# static folder is a 404, not a 500 with a traceback.
django_asgi_app = SafeStaticFilesHandler(get_asgi_application())

from channels.routing import ProtocolTypeRouter  # noqa: E402

from labweb.live.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})

from labweb.collector import collector_tune  # noqa: E402

collector_tune()  # last: everything start-up made is frozen out of the collector's way
