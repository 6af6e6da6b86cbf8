"""The Open Inference Protocol's gRPC API: `grpc_predict_v2.proto` (vendored from KServe, see
its header) and the modules generated from it, committed. To regenerate them, with
grpcio-tools 1.71.x (its protoc matches the protobuf>=5.29 runtime), kept out of the venv:

    .venv/bin/pip install --target /tmp/grpc-tools "grpcio-tools>=1.71,<1.72" "protobuf==5.29.*"
    PYTHONPATH=/tmp/grpc-tools .venv/bin/python -m grpc_tools.protoc -I. --python_out=. \
        --pyi_out=. --grpc_python_out=. workloads/inference/proto/grpc_predict_v2.proto
"""
