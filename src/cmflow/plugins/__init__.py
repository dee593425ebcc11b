"""The plugin system: the contract between cmflow and its plugins.

The hook specs (``hookspecs``), the base classes of each plugin kind (``kinds``), the registry
that finds and loads plugins through entry points (``registry``), what plugins receive and
return (``context``, ``result``, ``notifications``), the option types and option errors, and
the generated plugin documentation (``docs``). Plugin authors import the public names from
``cmflow``, not from here.
"""
