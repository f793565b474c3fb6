# Finds erl_interface (ei) from the Erlang/OTP installation that `erl` belongs to.
# Defines the imported target ErlInterface::ei.
find_program(ERL_EXECUTABLE erl)
find_program(ERLC_EXECUTABLE erlc)
if(ERL_EXECUTABLE AND NOT ErlInterface_ROOT)
    execute_process(
        COMMAND ${ERL_EXECUTABLE} -noshell -eval "io:format(\"~s\", [code:lib_dir(erl_interface)]), halt()."
        OUTPUT_VARIABLE ErlInterface_ROOT
        OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
find_path(ErlInterface_INCLUDE_DIR ei.h HINTS ${ErlInterface_ROOT}/include)
find_library(ErlInterface_LIBRARY NAMES ei HINTS ${ErlInterface_ROOT}/lib)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ErlInterface
    REQUIRED_VARS ErlInterface_LIBRARY ErlInterface_INCLUDE_DIR ERLC_EXECUTABLE)

if(ErlInterface_FOUND AND NOT TARGET ErlInterface::ei)
    add_library(ErlInterface::ei STATIC IMPORTED)
    set_target_properties(ErlInterface::ei PROPERTIES
        IMPORTED_LOCATION ${ErlInterface_LIBRARY}
        INTERFACE_INCLUDE_DIRECTORIES ${ErlInterface_INCLUDE_DIR})
endif()
