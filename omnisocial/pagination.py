"""Paginated lists: `?page=` and `?pageSize=` (at most 200), in a stable order set by each view."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "pageSize"
    max_page_size = 200
