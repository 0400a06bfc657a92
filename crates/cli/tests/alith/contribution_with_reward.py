"""LazAI's data contribution example (alith's `lazai_data_contribution_with_reward.py`) run with
the unmodified alith SDK against a `lazai devnet`.

The only departures from the example are where it runs: the chain's RPC and the contributor's
key are passed in (the example reads them from its environment), and the encrypted file is
"uploaded" to an HTTP server on 127.0.0.1 instead of Pinata's IPFS (the devnet's node fetches
from loopback). Prints one JSON line with what it did.

usage: python contribution_with_reward.py RPC_URL PLAINTEXT_FILE   (PRIVATE_KEY in the env)
"""

import functools
import hashlib
import http.server
import json
import os
import sys
import tempfile
import threading
import time

import requests
import rsa
from eth_account.messages import encode_defunct

from alith.data import encrypt
from alith.lazai import ChainConfig, Client, ProofRequest
from alith.lazai.contracts import ContractConfig


def serve(directory: str) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    rpc, plaintext_file = sys.argv[1], sys.argv[2]
    client = Client(
        chain_config=ChainConfig("LazAI Devnet", rpc, 133718),
        contract_config=ContractConfig.local(),
        private_key=os.environ["PRIVATE_KEY"],
    )
    privacy_data = open(plaintext_file, encoding="utf-8").read()
    started = time.monotonic()

    # 1. Prepare your privacy data and encrypt it
    data_file_name = "your_encrypted_data.txt"
    privacy_data_sha256 = hashlib.sha256(privacy_data.encode()).hexdigest()
    encryption_seed = "Sign to retrieve your encryption key"
    message = encode_defunct(text=encryption_seed)
    password = client.wallet.sign_message(message).signature.hex()
    encrypted_data = encrypt(privacy_data.encode(), password)
    assert encrypted_data, "gpg produced no message"

    # 2. Upload the privacy data and get the shared url
    directory = tempfile.mkdtemp()
    with open(os.path.join(directory, data_file_name), "wb") as f:
        f.write(encrypted_data)
    server = serve(directory)
    url = f"http://127.0.0.1:{server.server_port}/{data_file_name}"

    # 3. Upload the privacy url to LazAI
    file_id = client.get_file_id_by_url(url)
    if file_id == 0:
        file_id = client.add_file_with_hash(url, privacy_data_sha256)
    pub_key = client.get_public_key()
    encryption_key = rsa.encrypt(
        password.encode(),
        rsa.PublicKey.load_pkcs1(pub_key.strip().encode(), format="PEM"),
    ).hex()
    client.add_permission_for_file(
        file_id, client.contract_config.data_registry_address, encryption_key
    )

    # 4. Request proof in the verified computing node
    client.request_proof(file_id, 100)
    job_id = client.file_job_ids(file_id)[-1]
    job = client.get_job(job_id)
    node_info = client.get_node(job[-1])
    node_url: str = node_info[1]
    pub_key = node_info[-1]
    encryption_key = rsa.encrypt(
        password.encode(),
        rsa.PublicKey.load_pkcs1(pub_key.strip().encode(), format="PEM"),
    ).hex()
    request = ProofRequest(
        job_id=job_id,
        file_id=file_id,
        file_url=url,
        encryption_key=encryption_key,
        encryption_seed=encryption_seed,
        proof_url=None,
    ).model_dump()
    response = requests.post(f"{node_url}/proof", json=request)
    if response.status_code != 200:
        raise SystemExit(f"Failed to send proof request: {response.status_code} {response.text}")

    # 5. Request DAT reward
    client.request_reward(file_id)
    file = client.get_file(file_id)
    server.shutdown()
    print(
        json.dumps(
            {
                "fileId": file_id,
                "jobId": job_id,
                "nodeUrl": node_url,
                "proof": response.json(),
                "rewardAmount": file[5],
                "seconds": round(time.monotonic() - started, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
