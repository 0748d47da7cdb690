def test_home_redirects_to_setup_on_empty_database(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.endswith("/setup")


def test_world_and_sign_in(world, as_user):
    client = as_user(world.educator)
    response = client.get("/")
    assert response.status_code == 200
    assert "Анна Павлова" in response.get_data(as_text=True)
