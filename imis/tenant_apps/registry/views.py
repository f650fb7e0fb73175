from django.shortcuts import render

from imis.platform.permissions import permission_required

from .selectors import wards_listed


@permission_required("registry.view")
def index(request):
    return render(request, "registry/index.html", {"wards": wards_listed()})
