"""Pages of results, numbered as the pages' own (?page=2), 50 a page like the HTML lists unless asked otherwise."""

from rest_framework.pagination import PageNumberPagination


class ApiPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class FilePagination(ApiPagination):
    """A transfer's files: sessions hold thousands, so larger pages (the transfer page shows 500)."""

    page_size = 500
    max_page_size = 5000
