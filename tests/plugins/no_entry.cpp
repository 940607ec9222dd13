// A shared library without the ee_plugin_library entry point.
extern "C" int ee_test_not_a_plugin() {
  return 42;
}
