{
  'targets': [
    {
      # Linux only: SO_PEERCRED, O_DIRECT and sync_file_range have no portable equivalent.
      'target_name': 'gophership_native',
      'sources': [
        'native/addon.cc',
        'native/crc32c.cc',
        'native/file.cc',
        'native/memory.cc',
        'native/poll.cc',
        'native/process.cc',
        'native/socket.cc',
        'native/syscall_error.cc',
      ],
      # The except target turns C++ exceptions on: a failed syscall can `throw` its
      # Napi::Error from any depth instead of every caller checking and returning.
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': [
        'NAPI_VERSION=8',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
      ],
      'cflags_cc': [ '-Wall', '-Wextra' ],
    },
  ],
}
