#!/bin/sh
# Sort with ReMedia: Nautilus script, the fallback when python3-nautilus is missing
# (Nautilus lists it under "Scripts"). Installed by `remedia integrate install`, removed
# by `remedia integrate uninstall`.
# Nautilus passes the selected items as arguments, named relative to the folder it shows
# (the working directory); with nothing selected, the shown folder is sorted. The paths
# only ever travel in "$@", never in a string that a shell reads again.
[ "$#" -gt 0 ] || set -- "$PWD"
for arg do
    shift
    case $arg in
        /*) ;;
        *) arg=$PWD/$arg ;;
    esac
    set -- "$@" "$arg"
done
exec @REMEDIA_COMMAND@ "$@"
