// Kestrel's image addon: JPEG decoding (libjpeg-turbo) and antialiased resampling for the data loader's fast path.
// NOTE: separate from the libtorch addon so that loader worker threads load a few hundred KB, not libtorch; it keeps
// no global state, so it loads in any number of worker threads. Everything that decides *what* to decode (crop
// rectangles, flips, DCT scale, fallbacks to sharp) lives in src/data/image/native-jpeg.ts.
#include <napi.h>

#include <csetjmp>
#include <cstdio>
#include <cmath>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include <jpeglib.h>
}

namespace {

// ---- libjpeg error handling: errors longjmp back with the library's message; warnings (corrupt data) are kept ----

struct ErrorManager {
  jpeg_error_mgr base;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int warnings = 0;
  char warning[JMSG_LENGTH_MAX];
};

void onError(j_common_ptr cinfo) {
  auto* manager = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, manager->message);
  longjmp(manager->jump, 1);
}

void onMessage(j_common_ptr cinfo, int level) {
  auto* manager = reinterpret_cast<ErrorManager*>(cinfo->err);
  // NOTE: level -1 is a warning: libjpeg goes on with grey-filled or garbled pixels (truncated or corrupt data).
  if (level < 0 && manager->warnings++ == 0) (*cinfo->err->format_message)(cinfo, manager->warning);
}

const char* colourSpaceName(J_COLOR_SPACE space) {
  switch (space) {
    case JCS_GRAYSCALE: return "grey";
    case JCS_RGB: return "rgb";
    case JCS_YCbCr: return "ycbcr";
    case JCS_CMYK: return "cmyk";
    case JCS_YCCK: return "ycck";
    default: return "unknown";
  }
}

struct Decompressor {
  jpeg_decompress_struct cinfo;
  ErrorManager error;
  Decompressor() {
    cinfo.err = jpeg_std_error(&error.base);
    error.base.error_exit = onError;
    error.base.emit_message = onMessage;
    error.message[0] = error.warning[0] = 0;
    jpeg_create_decompress(&cinfo);
  }
  ~Decompressor() { jpeg_destroy_decompress(&cinfo); }
};

Napi::Uint8Array bytesArgument(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsTypedArray() || info[index].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Uint8Array or Buffer");
  return info[index].As<Napi::Uint8Array>();
}

int64_t intArgument(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return info[index].As<Napi::Number>().Int64Value();
}

// jpegHeader(bytes) -> {width, height, components, colourSpace}; throws with libjpeg's message.
Napi::Value JpegHeader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = bytesArgument(info, 0, "bytes");
  Decompressor d;
  if (setjmp(d.error.jump)) throw Napi::Error::New(env, d.error.message);
  jpeg_mem_src(&d.cinfo, bytes.Data(), bytes.ByteLength());
  jpeg_read_header(&d.cinfo, TRUE);
  Napi::Object out = Napi::Object::New(env);
  out.Set("width", static_cast<double>(d.cinfo.image_width));
  out.Set("height", static_cast<double>(d.cinfo.image_height));
  out.Set("components", d.cinfo.num_components);
  out.Set("colourSpace", colourSpaceName(d.cinfo.jpeg_color_space));
  return out;
}

// decodeJpeg(bytes, channels, scaleDenom, left, top, width, height) -> {data, width, height, warning}.
// Decodes the rectangle (in coordinates of the image scaled by 1/scaleDenom) to HWC uint8, 1 (grey) or 3 (RGB)
// channels, reading only the rows it needs and skipping whole MCU columns outside it.
Napi::Value DecodeJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = bytesArgument(info, 0, "bytes");
  const int64_t channels = intArgument(info, 1, "channels");
  const int64_t denom = intArgument(info, 2, "scaleDenom");
  if (channels != 1 && channels != 3) throw Napi::RangeError::New(env, "channels must be 1 or 3");
  if (denom != 1 && denom != 2 && denom != 4 && denom != 8) throw Napi::RangeError::New(env, "scaleDenom must be 1, 2, 4 or 8");
  int64_t left = intArgument(info, 3, "left"), top = intArgument(info, 4, "top");
  int64_t width = intArgument(info, 5, "width"), height = intArgument(info, 6, "height");

  Decompressor d;
  std::vector<uint8_t> row;
  std::vector<uint8_t> pixels;
  if (setjmp(d.error.jump)) throw Napi::Error::New(env, d.error.message);
  jpeg_mem_src(&d.cinfo, bytes.Data(), bytes.ByteLength());
  jpeg_read_header(&d.cinfo, TRUE);
  if (d.cinfo.jpeg_color_space == JCS_CMYK || d.cinfo.jpeg_color_space == JCS_YCCK)
    throw Napi::Error::New(env, "CMYK JPEG (not decoded here)");
  d.cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  d.cinfo.scale_num = 1;
  d.cinfo.scale_denom = static_cast<unsigned int>(denom);
  jpeg_start_decompress(&d.cinfo);
  const int64_t fullWidth = d.cinfo.output_width, fullHeight = d.cinfo.output_height;
  if (left < 0 || top < 0 || width <= 0 || height <= 0 || left + width > fullWidth || top + height > fullHeight) {
    jpeg_abort_decompress(&d.cinfo);
    throw Napi::RangeError::New(env, "crop " + std::to_string(width) + "x" + std::to_string(height) + "+" + std::to_string(left) + "+" +
                                         std::to_string(top) + " is outside the " + std::to_string(fullWidth) + "x" + std::to_string(fullHeight) + " image");
  }
  // NOTE: crop_scanline widens the window to whole iMCU columns; we keep the offset and copy out our columns. A
  // margin of one MCU each side keeps chroma upsampling at the window's edges identical to a full decode.
  const int64_t margin = 16;
  const int64_t windowLeft = std::max<int64_t>(0, left - margin), windowRight = std::min(fullWidth, left + width + margin);
  JDIMENSION xOffset = static_cast<JDIMENSION>(windowLeft), xWidth = static_cast<JDIMENSION>(windowRight - windowLeft);
  if (xWidth < fullWidth) jpeg_crop_scanline(&d.cinfo, &xOffset, &xWidth);
  const int64_t skipColumns = left - static_cast<int64_t>(xOffset);
  if (top > 0) jpeg_skip_scanlines(&d.cinfo, static_cast<JDIMENSION>(top));
  row.resize(static_cast<size_t>(d.cinfo.output_width) * channels);
  pixels.resize(static_cast<size_t>(width * height * channels));
  for (int64_t y = 0; y < height; ++y) {
    JSAMPROW rows[1] = {row.data()};
    if (jpeg_read_scanlines(&d.cinfo, rows, 1) != 1) throw Napi::Error::New(env, "JPEG ended early");
    std::memcpy(pixels.data() + y * width * channels, row.data() + skipColumns * channels, static_cast<size_t>(width * channels));
  }
  // NOTE: rows below the crop are never decoded; abort instead of finish (finish would insist on reading them).
  jpeg_abort_decompress(&d.cinfo);

  Napi::Object out = Napi::Object::New(env);
  Napi::Uint8Array data = Napi::Uint8Array::New(env, pixels.size());
  std::memcpy(data.Data(), pixels.data(), pixels.size());
  out.Set("data", data);
  out.Set("width", static_cast<double>(width));
  out.Set("height", static_cast<double>(height));
  out.Set("fullWidth", static_cast<double>(fullWidth));
  out.Set("fullHeight", static_cast<double>(fullHeight));
  if (d.error.warnings > 0) out.Set("warning", d.error.warning);
  return out;
}

// ---- antialiased resampling (separable triangle filter, widened by the scale when shrinking) --------------------

struct Taps {
  std::vector<int> first;      // first source index per output index
  std::vector<int> count;      // taps per output index
  std::vector<float> weights;  // count[i] weights from i * stride
  int stride = 0;
};

// Taps for mapping the source interval [from, to) onto `outSize` pixels (half-pixel centres, edges clamped).
Taps makeTaps(int inSize, double from, double to, int outSize, bool flip) {
  const double scale = (to - from) / outSize;
  const double filterScale = std::max(scale, 1.0);
  const double support = filterScale;  // NOTE: the triangle's radius is 1 source pixel, or `scale` of them when shrinking.
  Taps taps;
  taps.stride = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(outSize);
  taps.count.resize(outSize);
  taps.weights.assign(static_cast<size_t>(outSize) * taps.stride, 0.0f);
  for (int i = 0; i < outSize; ++i) {
    const double centre = from + (i + 0.5) * scale;
    const int lo = std::max(static_cast<int>(std::floor(centre - support + 0.5)), 0);
    const int hi = std::min(static_cast<int>(std::floor(centre + support + 0.5)), inSize);
    const int n = std::min(std::max(hi - lo, 0), taps.stride);
    const int out = flip ? outSize - 1 - i : i;
    double total = 0;
    float* w = &taps.weights[static_cast<size_t>(out) * taps.stride];
    for (int k = 0; k < n; ++k) {
      const double x = (lo + k + 0.5 - centre) / filterScale;
      const double value = std::max(0.0, 1.0 - std::abs(x));
      w[k] = static_cast<float>(value);
      total += value;
    }
    if (total > 0) for (int k = 0; k < n; ++k) w[k] = static_cast<float>(w[k] / total);
    taps.first[out] = lo;
    taps.count[out] = n;
  }
  return taps;
}

inline uint8_t clampByte(float v) { return static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, v + 0.5f))); }

// resize(data, width, height, channels, x0, y0, x1, y1, outWidth, outHeight, flipHorizontal, flipVertical) -> Uint8Array.
// Resamples the box [x0, x1) x [y0, y1) (fractional source pixels) of an HWC uint8 image to outWidth x outHeight,
// horizontal pass first, then vertical, each through a uint8 intermediate (as PIL does).
Napi::Value Resize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array src = bytesArgument(info, 0, "data");
  const int width = static_cast<int>(intArgument(info, 1, "width")), height = static_cast<int>(intArgument(info, 2, "height"));
  const int channels = static_cast<int>(intArgument(info, 3, "channels"));
  double box[4];
  for (int i = 0; i < 4; ++i) {
    if (!info[4 + i].IsNumber()) throw Napi::TypeError::New(env, "box coordinates must be numbers");
    box[i] = info[4 + i].As<Napi::Number>().DoubleValue();
  }
  const int outWidth = static_cast<int>(intArgument(info, 8, "outWidth")), outHeight = static_cast<int>(intArgument(info, 9, "outHeight"));
  const bool flipH = info.Length() > 10 && info[10].ToBoolean().Value();
  const bool flipV = info.Length() > 11 && info[11].ToBoolean().Value();
  if (width <= 0 || height <= 0 || channels <= 0 || channels > 4) throw Napi::RangeError::New(env, "bad image size or channels");
  if (src.ByteLength() != static_cast<size_t>(width) * height * channels) throw Napi::RangeError::New(env, "data length does not match width * height * channels");
  if (outWidth <= 0 || outHeight <= 0 || outWidth > 65536 || outHeight > 65536) throw Napi::RangeError::New(env, "bad output size");
  if (!(box[0] >= 0 && box[1] >= 0 && box[2] <= width && box[3] <= height && box[0] < box[2] && box[1] < box[3]))
    throw Napi::RangeError::New(env, "box is empty or outside the image");

  const Taps horizontal = makeTaps(width, box[0], box[2], outWidth, flipH);
  const Taps vertical = makeTaps(height, box[1], box[3], outHeight, flipV);
  // NOTE: the horizontal pass only needs the rows the vertical taps touch.
  int rowFirst = height, rowEnd = 0;
  for (int y = 0; y < outHeight; ++y) {
    rowFirst = std::min(rowFirst, vertical.first[y]);
    rowEnd = std::max(rowEnd, vertical.first[y] + vertical.count[y]);
  }
  const uint8_t* in = src.Data();
  std::vector<uint8_t> middle(static_cast<size_t>(std::max(rowEnd - rowFirst, 0)) * outWidth * channels);
  for (int y = rowFirst; y < rowEnd; ++y) {
    const uint8_t* line = in + static_cast<size_t>(y) * width * channels;
    uint8_t* target = middle.data() + static_cast<size_t>(y - rowFirst) * outWidth * channels;
    for (int x = 0; x < outWidth; ++x) {
      const float* w = &horizontal.weights[static_cast<size_t>(x) * horizontal.stride];
      const uint8_t* p = line + static_cast<size_t>(horizontal.first[x]) * channels;
      for (int c = 0; c < channels; ++c) {
        float sum = 0;
        for (int k = 0; k < horizontal.count[x]; ++k) sum += w[k] * p[k * channels + c];
        target[x * channels + c] = clampByte(sum);
      }
    }
  }
  Napi::Uint8Array out = Napi::Uint8Array::New(env, static_cast<size_t>(outWidth) * outHeight * channels);
  uint8_t* dst = out.Data();
  const size_t rowBytes = static_cast<size_t>(outWidth) * channels;
  std::vector<float> sums(rowBytes);
  for (int y = 0; y < outHeight; ++y) {
    std::fill(sums.begin(), sums.end(), 0.0f);
    const float* w = &vertical.weights[static_cast<size_t>(y) * vertical.stride];
    for (int k = 0; k < vertical.count[y]; ++k) {
      const uint8_t* line = middle.data() + static_cast<size_t>(vertical.first[y] + k - rowFirst) * rowBytes;
      const float weight = w[k];
      for (size_t i = 0; i < rowBytes; ++i) sums[i] += weight * line[i];
    }
    uint8_t* target = dst + static_cast<size_t>(y) * rowBytes;
    for (size_t i = 0; i < rowBytes; ++i) target[i] = clampByte(sums[i]);
  }
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("jpegHeader", Napi::Function::New(env, JpegHeader));
  exports.Set("decodeJpeg", Napi::Function::New(env, DecodeJpeg));
  exports.Set("resize", Napi::Function::New(env, Resize));
  exports.Set("libjpegVersion", JPEG_LIB_VERSION);
  return exports;
}

}  // namespace

NODE_API_MODULE(kestrel_image, Init)
