# tessel never imposes -march/-m flags on its consumers: kernels are chosen at run time.
function(tessel_check_no_arch_flags target)
  foreach(property INTERFACE_COMPILE_OPTIONS INTERFACE_COMPILE_DEFINITIONS
                   INTERFACE_LINK_OPTIONS INTERFACE_LINK_LIBRARIES)
    get_target_property(value ${target} ${property})
    if(value AND value MATCHES "(^|;| )-m[a-z0-9]")
      message(FATAL_ERROR "${target} ${property} carries a machine flag: ${value}")
    endif()
  endforeach()
endfunction()
