"""interpose_binary(): an `interpose` executable with extra filters linked in.

Usage, in any BUILD file of this workspace or of one that depends on it:

    load("//tools/bazel:interpose.bzl", "interpose_binary")   # or "@interpose//tools/bazel:..."

    cc_library(
        name = "my_filter",
        srcs = ["my_filter.cc"],
        deps = ["@interpose//api/interpose:api"],
        alwayslink = 1,
    )

    interpose_binary(
        name = "interpose_with_my_filter",
        filters = [":my_filter"],
    )

The result is the stock command line (`//source/exe:main_lib`), every built-in filter
(`//source/exe:extensions`) and the given libraries.

Each filter library MUST set `alwayslink = 1`. A filter registers itself from a static
initialiser (INTERPOSE_REGISTER_HTTP_FILTER) and nothing in the binary refers to it by
symbol: filters are found by name in the registry, from the YAML, at run time. Without
alwayslink the linker sees an archive member that resolves no undefined symbol, drops it,
and the filter is silently missing ("unknown HTTP filter 'my_filter'" when the config
loads).
"""

def interpose_binary(name, filters = [], deps = [], **kwargs):
    """Builds an interpose binary with `filters` (alwayslink cc_library targets) added.

    Args:
      name: the binary's name.
      filters: cc_library targets that register filters; each needs alwayslink = 1.
      deps: further libraries to link (anything else the binary should contain).
      **kwargs: passed to cc_binary (visibility, tags, linkopts, ...).
    """

    # Label() resolves against this file's repository, so the macro works the same from
    # this workspace and from one that loads it as @interpose.
    native.cc_binary(
        name = name,
        deps = [
            Label("//source/exe:main_lib"),
            Label("//source/exe:extensions"),
        ] + filters + deps,
        **kwargs
    )
