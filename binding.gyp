{
  "targets": [
    {
      "target_name": "kestrel",
      "sources": [
        "native/kestrel.cc",
        "native/pooling.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node native/find-libtorch.cjs --include)"
      ],
      "libraries": [
        "<!@(node native/find-libtorch.cjs --libs)"
      ],
      "ldflags": [
        "-fopenmp"
      ],
      "defines": [
        "NAPI_CPP_EXCEPTIONS",
        "NAPI_VERSION=8"
      ],
      "cflags!": [
        "-fno-exceptions",
        "-fno-rtti"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-fno-rtti",
        "-std=gnu++17"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O2",
        "-fopenmp",
        "-frtti",
        "-fexceptions",
        "-Wno-unused-parameter",
        "-Wno-deprecated-declarations"
      ],
      "conditions": [
        ["'<!(node native/find-distributed.cjs --gloo)'=='1'", {
          "sources": ["native/distributed.cc"],
          "defines": ["KESTREL_DISTRIBUTED", "USE_C10D_GLOO"],
          "include_dirs": ["<!@(node native/find-distributed.cjs --include)"]
        }],
        ["'<!(node native/find-distributed.cjs --nccl)'=='1'", {
          "defines": ["KESTREL_NCCL", "USE_C10D_NCCL"]
        }]
      ]
    },
    {
      "target_name": "kestrel_image",
      "sources": [
        "native/image.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node native/find-libjpeg.cjs --include)"
      ],
      "libraries": [
        "<!@(node native/find-libjpeg.cjs --libs)"
      ],
      "defines": [
        "NAPI_CPP_EXCEPTIONS",
        "NAPI_VERSION=8"
      ],
      "cflags!": [
        "-fno-exceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-std=gnu++17"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O3",
        "-fexceptions",
        "-Wno-unused-parameter"
      ]
    }
  ]
}
