import pytest


@pytest.fixture
def send(client_for, owner):
    """POST OpenLineage events as a pipeline's account would; each answer is checked for a 2xx."""
    client = client_for(owner)

    def post(*events, expect=(200, 201)):
        answers = []
        for event in events:
            response = client.post("/api/v1/lineage", event, format="json")
            assert response.status_code in expect, response.content
            answers.append(response)
        return answers[0] if len(answers) == 1 else answers

    return post
